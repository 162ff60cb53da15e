// Our sidecar in front of Dell's v1.14.0 proxy-server (the first step of a gradual migration:
// sidecars first, server later). Dell's server refuses every refresh while the access token is still
// valid (500 `access token was valid`, reference §2.4) and rejects an expired token with a 401, so a
// sidecar must keep its token until it expires and refresh right then. The server is the faithful
// fake of Dell's token rules in src/fakes/dell/ (Dell's Go services need Redis, three gRPC services
// and Kubernetes to run); the sidecar is the real `storage-authz sidecar` process and its Envoy.
// Refreshed tokens live 5 s here instead of Dell's fixed 30 s, so several lifetimes pass quickly.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { FakeDellProxyServer } from '../src/fakes/dell/proxyServer.js';
import { legacyEntry, startSidecar, type RunningSidecar } from './support/sidecar.js';

const ACCESS_TTL_SECONDS = 5;
const LIFETIMES = 4;
const SYSTEM = '542a2d5f5122210f';

describe("our sidecar against Dell's proxy-server, which refuses early refreshes", function () {
  this.timeout(120_000);

  let dir: string;
  let dell: FakeDellProxyServer;
  let sidecar: RunningSidecar | undefined;
  const driver: Dispatcher = new Agent({ connect: { rejectUnauthorized: false } });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-dell-server-'));
    dell = await FakeDellProxyServer.start({ signingSecret: randomBytes(32).toString('hex'), accessTtlSeconds: ACCESS_TTL_SECONDS });
    sidecar = await startSidecar({
      dir, edgePort: dell.port, edgeCa: dell.ca, arrays: 1,
      driverConfig: ([port]) => [legacyEntry('https://10.0.0.1', SYSTEM, port!)],
      tokens: await dell.issueTenantPair('team-a', ['bronze'], ACCESS_TTL_SECONDS, 3600),
    });
  });

  after(async () => {
    await sidecar?.stop();
    await driver.close();
    await dell?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`passes every driver request over ${LIFETIMES} token lifetimes, refreshing each token as it expires`, async () => {
    const port = sidecar!.ports[0]!;
    const until = Date.now() + LIFETIMES * ACCESS_TTL_SECONDS * 1000;
    const failures: string[] = [];
    let sent = 0;
    while (Date.now() < until) {
      const response = await request(`https://localhost:${port}/api/types/System/instances/`, { dispatcher: driver, headers: { authorization: 'Basic cGxhY2Vob2xkZXI6cGxhY2Vob2xkZXI=' } });
      const body = await response.body.text();
      sent++;
      if (response.statusCode !== 200) failures.push(`${response.statusCode} ${body.slice(0, 200)}`);
    }
    expect(failures.slice(0, 3), `${failures.length} of ${sent} requests failed`).to.deep.equal([]);
    expect(dell.dataPath.filter((r) => r.status !== 200), 'requests Dell refused (an expired token)').to.deep.equal([]);
    const granted = dell.refreshes.filter((r) => r.status === 200);
    const refused = dell.refreshes.filter((r) => r.status !== 200);
    // One refresh per lifetime; only the first, early one (at 60 %) is refused, the rest run at expiry.
    expect(granted.length, 'refreshes Dell granted').to.be.within(LIFETIMES - 1, LIFETIMES + 1);
    expect(refused.map((r) => r.answer)).to.deep.equal(['rpc error: code = Unknown desc = access token was valid\n']);
    expect(sent, 'requests sent').to.be.greaterThan(LIFETIMES * 10);
  });
});
