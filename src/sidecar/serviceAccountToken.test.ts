import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProjectedTokenVolume } from '../harness/projectedToken.js';
import { waitFor } from '../harness/wait.js';
import { silentLogger } from '../telemetry/log.js';
import { ServiceAccountToken } from './serviceAccountToken.js';

const jwt = (exp: number, n: number) =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp, n })).toString('base64url')}.sig`;

describe('sidecar --identity serviceaccount: the projected token', () => {
  let dir: string;
  let source: ServiceAccountToken | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sa-token-'));
  });
  afterEach(async () => {
    source?.stop();
    source = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it("follows kubelet's atomic ..data symlink swaps without being told", async () => {
    const volume = new ProjectedTokenVolume(dir);
    const exp = Math.floor(Date.now() / 1000) + 600;
    await volume.write(jwt(exp, 1));
    source = await ServiceAccountToken.start({ tokenFile: volume.tokenFile, logger: silentLogger });
    expect(source.current()).to.deep.equal({ kind: 'token', accessToken: jwt(exp, 1) });
    for (let n = 2; n <= 4; n++) {
      await volume.write(jwt(exp + n, n));
      const expected = jwt(exp + n, n);
      await waitFor(() => source?.current().kind === 'token' && (source.current() as { accessToken: string }).accessToken === expected, `token ${n} picked up`);
    }
  });

  it('refuses to start without a token and stops handing out an expired one, saying why', async () => {
    let error: unknown;
    await ServiceAccountToken.start({ tokenFile: path.join(dir, 'token'), logger: silentLogger }).catch((e: unknown) => (error = e));
    expect((error as Error).message).to.match(/token: ENOENT \(is the projected volume mounted\?\)$/);
    const volume = new ProjectedTokenVolume(dir);
    await volume.write(jwt(1000, 1));
    let now = 999_000;
    source = await ServiceAccountToken.start({ tokenFile: volume.tokenFile, logger: silentLogger, now: () => now });
    expect(source.status()).to.deep.equal({ ready: true });
    now = 1_000_000;
    expect(source.status()).to.deep.equal({ ready: false, problem: `the service-account token in ${volume.tokenFile} expired at 1970-01-01T00:16:40.000Z and kubelet has not rotated it` });
  });
});
