import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../harness/manualClock.js';
import { waitFor } from '../harness/wait.js';
import { silentLogger } from '../telemetry/log.js';
import { ACCESS_TOKEN_SECRET, TOKEN_CHECK_RUNTIME_KEY } from './envoyConfig.js';
import { startTokenFeed, type TokenFeed } from './tokenFeed.js';
import type { HeldToken, HeldTokenSource } from './tokenHolder.js';

const T0 = 1_700_000_000_000;

/** A token holder stand-in: the test decides which token is held and when it changes. */
class HeldTokens implements HeldTokenSource {
  private listeners: (() => void)[] = [];
  constructor(public token: HeldToken) {}
  held(): HeldToken {
    return this.token;
  }
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
  replace(token: HeldToken): void {
    this.token = token;
    for (const listener of this.listeners) listener();
  }
}

interface SdsFile { version_info: string; resources: { name: string; generic_secret: { secret: { inline_string: string } } }[] }

describe('sidecar token feed (the token file Envoy injects from, and the Check switch)', () => {
  let dir: string;
  let clock: ManualClock;
  let feed: TokenFeed | undefined;
  /** The secret version Envoy reports having applied. */
  let envoyVersion: number;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'token-feed-'));
    clock = new ManualClock(T0);
    envoyVersion = 1;
  });
  afterEach(async () => {
    feed?.stop();
    feed = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const start = (source: HeldTokenSource) =>
    startTokenFeed({ source, dir, logger: silentLogger, clock, appliedVersion: async () => envoyVersion });
  const secretFile = async (): Promise<SdsFile> => JSON.parse(await readFile(feed!.tokenSdsPath, 'utf8')) as SdsFile;
  const runtimeFile = async (): Promise<number> =>
    (JSON.parse(await readFile(feed!.runtimePath, 'utf8')) as { resources: { layer: Record<string, number> }[] }).resources[0]!.layer[TOKEN_CHECK_RUNTIME_KEY]!;

  it('writes the token as an SDS generic secret, readable only by its owner, renamed into place', async () => {
    feed = await start(new HeldTokens({ accessToken: 'eyJ.first.token', usableUntil: T0 + 60_000 }));
    const sds = await secretFile();
    expect(sds.version_info).to.equal('1');
    expect(sds.resources).to.have.length(1);
    expect(sds.resources[0]!.name).to.equal(ACCESS_TOKEN_SECRET);
    expect(sds.resources[0]!.generic_secret.secret.inline_string).to.equal('eyJ.first.token');
    expect((await stat(feed.tokenSdsPath)).mode & 0o777).to.equal(0o600);
    expect((await stat(feed.runtimePath)).mode & 0o777).to.equal(0o600);
    expect((await stat(feed.tokenDir)).mode & 0o777).to.equal(0o700);
    // Only the file Envoy watches: the temporary one was renamed, not copied.
    expect(await readdir(feed.tokenDir)).to.deep.equal(['access-token.sds.json']);
    expect(await runtimeFile()).to.equal(0);
  });

  it('switches the Check on only for the last half second of the injected token, and off once Envoy has the successor', async () => {
    const source = new HeldTokens({ accessToken: 'eyJ.first.token', usableUntil: T0 + 10_000 });
    feed = await start(source);
    expect(feed.checkEnabled()).to.equal(false);
    await clock.advance(9_499);
    expect(feed.checkEnabled(), 'while the token is good for longer than the lead').to.equal(false);
    await clock.advance(1);
    expect(feed.checkEnabled(), 'half a second before the token stops being usable').to.equal(true);
    await waitFor(async () => (await runtimeFile()) === 100, 'the runtime file to switch the Check on');

    // The refresh at expiry (Dell's server) brings the successor: written at once, but the Check
    // stays on until Envoy reports having loaded it.
    await clock.advance(700);
    source.replace({ accessToken: 'eyJ.second.token', usableUntil: T0 + 20_000 });
    await waitFor(async () => (await secretFile()).version_info === '2', 'the successor to be written');
    expect((await secretFile()).resources[0]!.generic_secret.secret.inline_string).to.equal('eyJ.second.token');
    await clock.advance(200);
    expect(feed.checkEnabled(), 'Envoy still injects the expired token').to.equal(true);
    envoyVersion = 2;
    await waitFor(async () => {
      await clock.advance(20);
      return !feed!.checkEnabled();
    }, 'the Check to be switched off once Envoy has applied version 2');
    await waitFor(async () => (await runtimeFile()) === 0, 'the runtime file to switch the Check off');

    // And on again only at the successor's own lead.
    const now = clock.now();
    await clock.advance(T0 + 19_500 - now - 1);
    expect(feed.checkEnabled()).to.equal(false);
    await clock.advance(1);
    expect(feed.checkEnabled()).to.equal(true);
  });

  it('never switches the Check on when each token is replaced well before it expires (refresh at 60 %)', async () => {
    const source = new HeldTokens({ accessToken: 'eyJ.token.0', usableUntil: T0 + 4_000 });
    feed = await start(source);
    for (let i = 1; i <= 5; i++) {
      await clock.advance(2_400);
      source.replace({ accessToken: `eyJ.token.${i}`, usableUntil: clock.now() + 4_000 });
      await waitFor(async () => (await secretFile()).version_info === String(i + 1), `token ${i} to be written`);
      // Envoy applies it within two polls; had the feed not seen that, the previous token's switch
      // (1.1 s after this replacement) would turn the Check on during the next step.
      envoyVersion = i + 1;
      await clock.advance(40);
      expect(feed.checkEnabled(), `after ${i} refreshes`).to.equal(false);
    }
    expect(await runtimeFile()).to.equal(0);
  });

  it('starts with the Check on when the held token is already expired (a fixed ACCESS_TOKEN at a restart), so requests wait for the refresh', async () => {
    feed = await start(new HeldTokens({ accessToken: 'eyJ.expired.token', usableUntil: T0 - 1_000 }));
    expect(feed.checkEnabled()).to.equal(true);
    expect(await runtimeFile()).to.equal(100);
    // The expired token is still in the file: the Check replaces it; Envoy never lacks a secret.
    expect((await secretFile()).resources[0]!.generic_secret.secret.inline_string).to.equal('eyJ.expired.token');
  });

  it('keeps the Check on when the new token is itself expired (a revoked tenant\'s last token runs out)', async () => {
    const source = new HeldTokens({ accessToken: 'eyJ.first.token', usableUntil: T0 + 1_000 });
    feed = await start(source);
    await clock.advance(600);
    expect(feed.checkEnabled()).to.equal(true);
    source.replace({ accessToken: 'eyJ.stale.token', usableUntil: T0 - 5_000 });
    envoyVersion = 2;
    await waitFor(async () => (await secretFile()).version_info === '2', 'the new token to be written');
    await clock.advance(100);
    expect(feed.checkEnabled()).to.equal(true);
  });
});
