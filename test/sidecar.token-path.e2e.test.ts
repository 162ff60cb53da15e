// Which way the token reaches each request (the real sidecar and its Envoy in front of the fake of
// Dell's proxy-server, whose refresh works only after expiry): Envoy injects it from the token file,
// and the sidecar's Check answers only around each expiry — the last second of a token until Envoy
// has loaded its successor — where a request must wait for the refresh. Envoy's own counters say
// which path each request took.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { FakeDellProxyServer } from '../src/fakes/dell/proxyServer.js';
import { freePort } from '../src/harness/ports.js';
import { envoyBin } from '../src/harness/tools.js';
import { silentLogger } from '../src/telemetry/log.js';
import { adminRequest } from '../src/envoy/admin.js';
import { runSidecar, type RunningSidecar } from '../src/sidecar/run.js';

const ACCESS_TTL_SECONDS = 4;
const LIFETIMES = 3;
const SYSTEM = '542a2d5f5122210f';

describe('sidecar token path: injected by Envoy, the Check only around expiry', function () {
  this.timeout(90_000);
  let dir: string;
  let dell: FakeDellProxyServer;
  let sidecar: RunningSidecar | undefined;
  let listenPort: number;
  let adminPort: number;
  const driver = new Agent({ connect: { rejectUnauthorized: false } });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-token-path-'));
    dell = await FakeDellProxyServer.start({ signingSecret: randomBytes(32).toString('hex'), accessTtlSeconds: ACCESS_TTL_SECONDS });
    [listenPort, adminPort] = [await freePort(), await freePort()];
    const pair = await dell.issueTenantPair('team-a', ['bronze'], ACCESS_TTL_SECONDS, 3600);
    await writeFile(path.join(dir, 'config'), JSON.stringify([{ endpoint: `https://localhost:${listenPort}`, systemID: SYSTEM, intendedEndpoint: 'https://10.0.0.1' }]));
    await writeFile(path.join(dir, 'ca.pem'), dell.ca);
    sidecar = await runSidecar({
      proxyHost: `localhost:${dell.port}`,
      plugin: 'powerflex',
      driverConfigFile: path.join(dir, 'config'),
      environmentTokens: { accessToken: pair.access, refreshToken: pair.refresh },
      caFile: path.join(dir, 'ca.pem'),
      envoyBin,
      workDir: path.join(dir, 'work'),
      envoyAdminPort: adminPort,
      envoyLogLevel: 'error',
      logger: silentLogger,
    });
  });

  after(async () => {
    await sidecar?.stop();
    await driver.close();
    await dell?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function checksAnswered(): Promise<number> {
    const answer = await adminRequest({ kind: 'port', port: adminPort }, `/stats?format=json&filter=${encodeURIComponent(`^http\\.array_${listenPort}\\.ext_authz\\.ok$`)}`);
    return (JSON.parse(answer!.body) as { stats: { value: number }[] }).stats[0]!.value;
  }

  it('sends most requests with the injected token and asks the Check only in the gap around each expiry, none failing', async () => {
    const sent: { at: number; path: 'injected' | 'check'; status: number }[] = [];
    let checks = await checksAnswered();
    const until = Date.now() + LIFETIMES * ACCESS_TTL_SECONDS * 1000;
    while (Date.now() < until) {
      const at = Date.now();
      const response = await request(`https://localhost:${listenPort}/api/types/System/instances/`, { dispatcher: driver, headers: { authorization: 'Basic cGxhY2Vob2xkZXI6cGxhY2Vob2xkZXI=', cookie: 'session=driver' } });
      await response.body.dump();
      const after = await checksAnswered();
      sent.push({ at, path: after > checks ? 'check' : 'injected', status: response.statusCode });
      checks = after;
    }
    const byPath = (p: 'injected' | 'check') => sent.filter((r) => r.path === p);
    const summary = `${sent.length} requests: ${byPath('injected').length} injected by Envoy, ${byPath('check').length} through the Check`;
    expect(sent.filter((r) => r.status !== 200), summary).to.deep.equal([]);
    expect(dell.dataPath.filter((r) => r.status !== 200), 'requests Dell refused (an expired token)').to.deep.equal([]);

    const granted = dell.refreshes.filter((r) => r.status === 200).map((r) => r.at);
    expect(granted.length, 'refreshes Dell granted').to.be.at.least(LIFETIMES - 1);
    // The Check is on from a second before a token's expiry (its last 500 ms are not used, and the
    // switch leads that by 500 ms) until Envoy has the successor, which Dell grants 100 ms after
    // expiry: every Check-served request falls in such a window around a granted refresh.
    const outside = byPath('check').filter((r) => !granted.some((g) => r.at >= g - 1100 - 400 && r.at <= g + 1000));
    expect(outside.map((r) => new Date(r.at).toISOString()), `${summary}; Check-served requests outside any refresh gap`).to.deep.equal([]);
    expect(byPath('check').length, summary).to.be.greaterThan(0);
    expect(byPath('injected').length, summary).to.be.greaterThan(byPath('check').length);
  });
});
