import { expect } from 'chai';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { decodeJwt } from 'jose';
import { pino } from 'pino';
import { ManualClock } from '../harness/manualClock.js';
import { waitFor } from '../harness/wait.js';
import { mintTokenPair } from '../tokens/mint.js';
import type { SigningKeySet } from '../tokens/types.js';
import { readTokenFiles, TokenHolder, type RefreshOutcome, type Refresher, type TokenPairFiles } from './tokenHolder.js';

const NOW_S = 1_700_000_000;
const keys: SigningKeySet = { defaultKid: 'k', keys: new Map([['k', new TextEncoder().encode('holder-test-key-0123456789abcdefghijkl')]]) };

// Refresher calls still running (token signing is asynchronous crypto): time stands still until they finish.
const pending = new Set<Promise<unknown>>();
function track<T>(promise: Promise<T>): Promise<T> {
  pending.add(promise);
  return promise.finally(() => pending.delete(promise));
}

/** Lets started work run to completion (no timer involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.allSettled([...pending]);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _encoding, done) { lines.push(chunk.toString()); done(); } });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function pairAt(clock: ManualClock, accessTtlSeconds: number, group = 'tenant-a') {
  return mintTokenPair({ keys, subject: 'csm-tenant', group, roles: ['bronze'], accessTtlSeconds, refreshTtlSeconds: 86400, now: Math.floor(clock.now() / 1000) });
}

/** A server stand-in that mints a fresh access token with the given lifetime. */
function mintingRefresher(clock: ManualClock, ttlSeconds: number, calls: TokenPairFiles[]): Refresher {
  return (pair) => {
    calls.push(pair);
    return track(pairAt(clock, ttlSeconds).then(({ access }): RefreshOutcome => ({ kind: 'refreshed', accessToken: access })));
  };
}

describe('sidecar TokenHolder', () => {
  let dir: string;
  let clock: ManualClock;
  const holders: TokenHolder[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'token-holder-'));
    clock = new ManualClock(NOW_S * 1000, settle);
  });
  afterEach(async () => {
    for (const holder of holders.splice(0)) holder.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function writePair(pair: { access: string; refresh: string }, target = dir) {
    await writeFile(path.join(target, 'access'), `${pair.access}\n`);
    await writeFile(path.join(target, 'refresh'), `${pair.refresh}\n`);
  }

  async function startHolder(refresher: Refresher, extra: { logger?: pino.Logger; random?: () => number } = {}) {
    const holder = await TokenHolder.start({
      tokens: { kind: 'files', dir }, refresher, clock, logger: extra.logger ?? capturingLogger().logger,
      random: extra.random ?? (() => 0.5),
    });
    holders.push(holder);
    return holder;
  }

  const tokenOf = (holder: TokenHolder) => {
    const current = holder.current();
    if (current.kind !== 'token') throw new Error(`no token: ${current.reason}`);
    return current.accessToken;
  };

  it('refreshes at 60% of the access token lifetime, not before, and serves the new token', async () => {
    const pair = await pairAt(clock, 100);
    await writePair(pair);
    const calls: TokenPairFiles[] = [];
    const holder = await startHolder(mintingRefresher(clock, 100, calls));
    expect(tokenOf(holder)).to.equal(pair.access);

    await clock.advance(59_000);
    expect(calls).to.have.length(0);
    await clock.advance(1_000);
    expect(calls).to.deep.equal([{ accessToken: pair.access, refreshToken: pair.refresh }]);
    expect(tokenOf(holder)).to.not.equal(pair.access);
    expect(decodeJwt(tokenOf(holder)).exp).to.equal(NOW_S + 160);
  });

  it('refreshes tokens given in ACCESS_TOKEN/REFRESH_TOKEN (Dell driver charts) before they expire, without any token files', async () => {
    const pair = await pairAt(clock, 100);
    const calls: TokenPairFiles[] = [];
    const holder = await TokenHolder.start({
      tokens: { kind: 'environment', accessToken: `${pair.access}\n`, refreshToken: pair.refresh }, refresher: mintingRefresher(clock, 100, calls),
      clock, logger: capturingLogger().logger, random: () => 0.5,
    });
    holders.push(holder);
    expect(tokenOf(holder)).to.equal(pair.access);
    await clock.advance(60_000);
    expect(calls).to.deep.equal([{ accessToken: pair.access, refreshToken: pair.refresh }]);
    await clock.advance(45_000);
    expect(decodeJwt(tokenOf(holder)).exp! * 1000).to.be.greaterThan(clock.now());
    expect(holder.status()).to.deep.equal({ ready: true });
  });

  it('names the variable when ACCESS_TOKEN holds the refresh token', async () => {
    const pair = await pairAt(clock, 100);
    await expectRejection(
      TokenHolder.start({ tokens: { kind: 'environment', accessToken: pair.refresh, refreshToken: pair.access }, refresher: mintingRefresher(clock, 100, []), clock, logger: capturingLogger().logger }),
      'ACCESS_TOKEN holds a refresh token: the access and refresh variables are swapped',
    );
  });

  it('never hands out an expired token across many lifetimes', async () => {
    await writePair(await pairAt(clock, 3));
    const calls: TokenPairFiles[] = [];
    const holder = await startHolder(mintingRefresher(clock, 3, calls));
    for (let step = 0; step < 200; step++) {
      await clock.advance(100);
      expect(decodeJwt(tokenOf(holder)).exp! * 1000).to.be.greaterThan(clock.now());
    }
    // 20 s of 3 s tokens: at least one refresh per lifetime, and no refresh storm (whole-second
    // expiries make each fresh token live 2-3 s, refreshed after 60% of that).
    expect(calls.length).to.be.within(7, 17);
  });

  /**
   * Dell's proxy-server (§2.4): a refresh before the access token's `exp` is a 500 `access token was
   * valid`; after it, a new 30 s token. `skewMs`: how far the server's clock runs behind ours.
   */
  function dellRefresher(calls: { at: number; refused: boolean }[], skewMs = 0): Refresher {
    return (pair) => {
      const refused = clock.now() - skewMs < decodeJwt(pair.accessToken).exp! * 1000;
      calls.push({ at: clock.now(), refused });
      if (refused) return Promise.resolve({ kind: 'refused', status: 500, reason: 'access-token-still-valid', message: 'rpc error: code = Unknown desc = access token was valid' });
      return mintingRefresher(clock, 30, [])(pair);
    };
  }

  for (const skewMs of [0, 700]) {
    it(`against a server that refuses early refreshes (Dell's, clock ${skewMs} ms behind): refreshes at each expiry and no request goes without a token`, async () => {
      await writePair(await pairAt(clock, 30));
      const calls: { at: number; refused: boolean }[] = [];
      const { logger, lines } = capturingLogger();
      const holder = await startHolder(dellRefresher(calls, skewMs), { logger });
      const answers: { at: number; token: Awaited<ReturnType<TokenHolder['awaitToken']>> }[] = [];
      // A request every 100 ms for five lifetimes; each is answered by the time the next leaves.
      for (let step = 0; step < 1500; step++) {
        void holder.awaitToken().then((token) => answers.push({ at: clock.now(), token }));
        await clock.advance(100);
      }
      await clock.advance(3_000);
      expect(answers).to.have.length(1500);
      const failed = answers.filter((a) => a.token.kind !== 'token');
      expect(failed, 'requests without a token').to.deep.equal([]);
      for (const { at, token } of answers) {
        if (token.kind === 'token') expect(decodeJwt(token.accessToken).exp! * 1000, 'a token handed out after its expiry').to.be.greaterThan(at);
      }
      // The 60% refresh is refused once; from then on one refresh per expiry (plus retries while the
      // server's clock is behind), and nothing logged as a failure.
      const granted = calls.filter((c) => !c.refused);
      expect(granted.length).to.be.within(4, 6);
      expect(calls.filter((c) => c.refused).length).to.be.at.most(1 + granted.length * Math.ceil(skewMs / 250));
      expect(lines.filter((l) => l.includes('refuses refreshes before expiry'))).to.have.length(1);
      expect(lines.filter((l) => l.includes('token refresh failed'))).to.deep.equal([]);
    });
  }

  it('against a server that refuses early refreshes, a request in the token\'s last moments waits for its successor', async () => {
    await writePair(await pairAt(clock, 30));
    const holder = await startHolder(dellRefresher([]));
    await clock.advance(18_000); // the 60% refresh: refused, rescheduled for expiry
    const first = tokenOf(holder);
    const expiry = decodeJwt(first).exp! * 1000;
    await clock.advance(expiry - 300 - clock.now());
    let answer: Awaited<ReturnType<TokenHolder['awaitToken']>> | undefined;
    void holder.awaitToken().then((token) => { answer = token; });
    await clock.advance(200);
    expect(answer, 'waits: the token is too close to expiry to send').to.equal(undefined);
    await clock.advance(300);
    expect(answer).to.have.property('kind', 'token');
    expect(answer && answer.kind === 'token' && answer.accessToken).to.not.equal(first);
  });

  it('refreshes at once when the token from the files has already expired', async () => {
    await writePair(await pairAt(clock, 10));
    clock.time += 20_000;
    const calls: TokenPairFiles[] = [];
    const holder = await startHolder(mintingRefresher(clock, 10, calls));
    expect(holder.status()).to.deep.include({ ready: false });
    await clock.advance(0);
    expect(calls).to.have.length(1);
    expect(holder.status()).to.deep.equal({ ready: true });
  });

  it('makes a request that finds the token expired wait for the refresh on its way, not fail (Dell\'s fixed ACCESS_TOKEN at a restart)', async () => {
    await writePair(await pairAt(clock, 10));
    clock.time += 20_000;
    let release!: (outcome: RefreshOutcome) => void;
    const holder = await startHolder(() => new Promise((resolve) => { release = resolve; }));
    await clock.advance(0);
    const waiting = holder.awaitToken();
    await clock.advance(1_000);
    const fresh = await pairAt(clock, 10);
    release({ kind: 'refreshed', accessToken: fresh.access });
    expect(await waiting).to.deep.equal({ kind: 'token', accessToken: fresh.access });
  });

  it('answers a waiting request with the reason once the wait is over and no refresh has succeeded', async () => {
    await writePair(await pairAt(clock, 10));
    clock.time += 20_000;
    const holder = await startHolder(() => new Promise(() => {}));
    let answer: Awaited<ReturnType<TokenHolder['awaitToken']>> | undefined;
    void holder.awaitToken().then((token) => { answer = token; });
    await clock.advance(2_999);
    expect(answer, 'still waiting within 3 s').to.equal(undefined);
    await clock.advance(1);
    expect(answer).to.deep.include({ kind: 'unavailable' });
  });

  it('does not hold a request when only the operator can help (tenant revoked)', async () => {
    await writePair(await pairAt(clock, 10));
    clock.time += 20_000;
    const holder = await startHolder(async () => ({ kind: 'refused', status: 401, reason: 'tenant-revoked', message: 'revoked' }));
    await clock.advance(0);
    let answer: Awaited<ReturnType<TokenHolder['awaitToken']>> | undefined;
    void holder.awaitToken().then((token) => { answer = token; });
    await settle();
    expect(answer).to.deep.include({ kind: 'unavailable' });
    expect(answer && answer.kind === 'unavailable' && answer.reason).to.include('cancel the revocation');
  });

  it('runs one refresh at a time however many callers ask', async () => {
    await writePair(await pairAt(clock, 100));
    let release!: (outcome: RefreshOutcome) => void;
    let calls = 0;
    const holder = await startHolder(() => {
      calls++;
      return new Promise((resolve) => { release = resolve; });
    });
    const waits = [holder.refresh(), holder.refresh(), holder.refresh()];
    await settle();
    expect(calls).to.equal(1);
    release({ kind: 'refreshed', accessToken: (await pairAt(clock, 100)).access });
    await Promise.all(waits);
    expect(calls).to.equal(1);
  });

  it('backs off exponentially with jitter while the proxy is unreachable, then recovers', async () => {
    await writePair(await pairAt(clock, 100));
    const attempts: number[] = [];
    let failing = true;
    const { logger, lines } = capturingLogger();
    const holder = await startHolder(() => track((async (): Promise<RefreshOutcome> => {
      attempts.push(clock.now());
      if (failing) throw new Error('connect ECONNREFUSED');
      return { kind: 'refreshed', accessToken: (await pairAt(clock, 100)).access };
    })()), { logger, random: () => 1 });
    await clock.advance(60_000 + 250 + 500 + 1000 + 2000);
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
    expect(gaps).to.deep.equal([250, 500, 1000, 2000]);
    failing = false;
    await clock.advance(4000);
    expect(holder.status()).to.deep.equal({ ready: true });
    expect(lines.join('')).to.include('ECONNREFUSED');
  });

  it('says once what the operator must do when the tenant is revoked, and becomes not ready at expiry', async () => {
    await writePair(await pairAt(clock, 10));
    const { logger, lines } = capturingLogger();
    let refusals = 0;
    const holder = await startHolder(async () => {
      refusals++;
      return { kind: 'refused', status: 401, reason: 'tenant-revoked', message: 'tenant "tenant-a" has been revoked' };
    }, { logger });
    await clock.advance(6_000);
    expect(holder.status().ready).to.equal(true);
    expect(holder.status().problem).to.include('cancel the revocation');
    await clock.advance(10_000);
    expect(refusals).to.be.greaterThan(2);
    const current = holder.current();
    expect(current.kind).to.equal('unavailable');
    expect(holder.status()).to.deep.include({ ready: false });
    expect(holder.status().problem).to.include('tenant has been revoked');
    expect(lines.filter((line) => line.includes('cancel the revocation'))).to.have.length(1);
  });

  it('picks up a re-issued pair from the files and forgets the problem', async () => {
    await writePair(await pairAt(clock, 10));
    const holder = await startHolder(async () => ({ kind: 'refused', status: 401, reason: 'refresh-token-expired', message: 'expired' }));
    await clock.advance(20_000);
    expect(holder.status().problem).to.include('ask the storage admin for a new token pair');
    const reissued = await pairAt(clock, 100);
    await writePair(reissued);
    await holder.reloadFiles();
    expect(tokenOf(holder)).to.equal(reissued.access);
    expect(holder.status()).to.deep.equal({ ready: true });
  });

  it('keeps its own newer access token when the file still holds the old one, but takes a later one from the file', async () => {
    const pair = await pairAt(clock, 100);
    await writePair(pair);
    const holder = await startHolder(mintingRefresher(clock, 100, []));
    await clock.advance(60_000);
    const refreshed = tokenOf(holder);
    await holder.reloadFiles();
    expect(tokenOf(holder)).to.equal(refreshed);

    clock.time += 1000;
    const later = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'tenant-a', roles: ['bronze'], accessTtlSeconds: 500, refreshTtlSeconds: 86400, now: NOW_S });
    await writePair({ access: later.access, refresh: pair.refresh });
    await holder.reloadFiles();
    expect(tokenOf(holder)).to.equal(later.access);
  });

  it('ignores a refresh result for a pair replaced while it ran', async () => {
    await writePair(await pairAt(clock, 100));
    let release!: (outcome: RefreshOutcome) => void;
    const holder = await startHolder(() => new Promise((resolve) => { release = resolve; }));
    const refreshing = holder.refresh();
    clock.time += 1000; // a later issue time, so the re-issued pair differs
    const reissued = await pairAt(clock, 100);
    await writePair(reissued);
    await holder.reloadFiles();
    release({ kind: 'refreshed', accessToken: (await pairAt(clock, 50)).access });
    await refreshing;
    expect(tokenOf(holder)).to.equal(reissued.access);
  });

  it('watches a Kubernetes secret volume (..data symlink swap) and switches tokens without a restart', async () => {
    const first = await pairAt(clock, 100);
    await mkdir(path.join(dir, '..2024_01'));
    await writePair(first, path.join(dir, '..2024_01'));
    await symlink('..2024_01', path.join(dir, '..data'));
    await symlink('..data/access', path.join(dir, 'access'));
    await symlink('..data/refresh', path.join(dir, 'refresh'));
    const holder = await startHolder(async () => ({ kind: 'refused', status: 503, message: 'down' }));
    expect(tokenOf(holder)).to.equal(first.access);

    clock.time += 1000;
    const second = await pairAt(clock, 100);
    await mkdir(path.join(dir, '..2024_02'));
    await writePair(second, path.join(dir, '..2024_02'));
    await symlink('..2024_02', path.join(dir, '..data_tmp'));
    await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));

    await waitFor(() => tokenOf(holder) === second.access, 'the holder to pick up the new token pair', 5000);
  });

  it('never writes a token to the log', async () => {
    const pair = await pairAt(clock, 10);
    await writePair(pair);
    const { logger, lines } = capturingLogger();
    const minted: string[] = [];
    let calls = 0;
    await startHolder(() => track((async (): Promise<RefreshOutcome> => {
      calls++;
      if (calls % 2) return { kind: 'refused', status: 500, message: 'access token was valid' };
      const { access } = await pairAt(clock, 10);
      minted.push(access);
      return { kind: 'refreshed', accessToken: access };
    })()), { logger });
    await clock.advance(60_000);
    expect(minted.length).to.be.greaterThan(2);
    const log = lines.join('');
    for (const token of [pair.access, pair.refresh, ...minted]) expect(log).to.not.include(token.split('.')[2]);
  });

  it('refuses unusable token files with errors naming the file', async () => {
    await expectRejection(readTokenFiles(dir), `token file ${path.join(dir, 'access')}: ENOENT`);
    await writeFile(path.join(dir, 'access'), '\n');
    await writeFile(path.join(dir, 'refresh'), 'r');
    await expectRejection(readTokenFiles(dir), `token file ${path.join(dir, 'access')} is empty`);
    await writeFile(path.join(dir, 'access'), 'not-a-jwt');
    await expectRejection(readTokenFiles(dir), `${path.join(dir, 'access')} is not a JWT`);
  });

  it('says the secret\'s files are swapped when the access file holds a refresh token', async () => {
    const pair = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'team-a', roles: ['r'], accessTtlSeconds: 60, refreshTtlSeconds: 600 });
    await writeFile(path.join(dir, 'access'), pair.refresh);
    await writeFile(path.join(dir, 'refresh'), pair.access);
    await expectRejection(readTokenFiles(dir), `token file ${path.join(dir, 'access')} holds a refresh token: the access and refresh files of the secret are swapped`);
    await writeFile(path.join(dir, 'access'), pair.access);
    await writeFile(path.join(dir, 'refresh'), pair.refresh);
    expect(await readTokenFiles(dir)).to.deep.equal({ accessToken: pair.access, refreshToken: pair.refresh });
  });
});

async function expectRejection(promise: Promise<unknown>, message: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.include(message);
    return;
  }
  expect.fail(`expected a rejection with "${message}"`);
}
