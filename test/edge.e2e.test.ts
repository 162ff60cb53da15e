// The edge as a storage admin runs it: the real `storage-authz serve` process (ledger in a real,
// password-protected Redis), a real Envoy with the config `storage-authz render-edge-config`
// prints, and the fake PowerFlex gateway behind it.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { AUTHZ_CLUSTER } from '../src/envoy/edge.js';
import { API_VERSION } from '../src/resources/types.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import type { SigningKeySet } from '../src/tokens/types.js';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { startServeAndEdge } from './support/serveEdge.js';
import { waitForClusterHealth } from '../src/harness/envoy.js';
import { healthStatus } from './support/grpc.js';
import { waitForOutput, type Started } from '../src/harness/process.js';
import { waitFor } from '../src/harness/wait.js';

const TENANT = 'team-a';

interface Answer {
  status: number;
  body: string;
  json(): Record<string, unknown>;
}

const REDIS_PASSWORD = 'edge-e2e-redis-password';

describe('edge: real Envoy + storage-authz serve + real Redis + fake PowerFlex gateway', function () {
  this.timeout(120_000);

  let gateway: FakePowerFlexGateway;
  let redis: RunningRedis;
  let workspace: Workspace;
  let service: Started;
  let envoy: Started;
  let agent: Agent;
  let edgeUrl: string;
  let authzPort: number;
  let envoyAdminPort: number;
  let forwarded: string;
  let token: string;

  const mint = async (keys: SigningKeySet, now?: number) =>
    (await mintTokenPair({ keys, subject: 'csm-tenant', group: TENANT, roles: [workspace.roleName], accessTtlSeconds: 600, refreshTtlSeconds: 1200, ...(now && { now }) })).access;

  async function send(pathAndQuery: string, headers: Record<string, string>, method: 'GET' | 'POST' = 'GET', requestBody?: string): Promise<Answer> {
    const response = await request(`${edgeUrl}${pathAndQuery}`, { method, headers, body: requestBody, dispatcher: agent });
    const body = await response.body.text();
    return { status: response.statusCode, body, json: () => JSON.parse(body) as Record<string, unknown> };
  }
  const asTenant = (pathAndQuery: string, bearer = token, extra: Record<string, string> = {}) =>
    send(pathAndQuery, { authorization: `Bearer ${bearer}`, forwarded, ...extra });

  /** The gateway's request count stays the same while `action` runs: the request never reached it. */
  async function neverReachesArray<T>(action: () => Promise<T>): Promise<T> {
    const before = gateway.requests.length;
    const result = await action();
    expect(gateway.requests.length, 'requests the gateway saw').to.equal(before);
    return result;
  }

  before(async () => {
    gateway = await FakePowerFlexGateway.start();
    workspace = await createWorkspace({
      array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: 'admin', password: 'Password123!' },
      pool: DEFAULT_POOLS[0]!.name,
      quotaGiB: 64,
      tenants: [{ name: TENANT, approveSdc: false }],
    });
    redis = await startRedis({ password: REDIS_PASSWORD });
    const redisPasswordFile = path.join(workspace.dir, 'redis-password');
    await writeFile(redisPasswordFile, `${REDIS_PASSWORD}\n`, { mode: 0o600 });
    forwarded = `for=csm-authorization;${gateway.url};${gateway.systemId},by=csm-authorization;csi-vxflexos`;
    token = await mint(workspace.signingKeys);
    agent = new Agent({ connect: { ca: workspace.edgeCa } });

    let edgePort: number;
    ({ service, envoy, authzPort, edgePort, envoyAdminPort } = await startServeAndEdge(workspace, [
      '--redis-url', `redis://127.0.0.1:${redis.port}`,
      '--redis-password-file', redisPasswordFile,
    ]));
    edgeUrl = `https://127.0.0.1:${edgePort}`;
  });

  after(async () => {
    await envoy?.stop();
    await service?.stop();
    await redis?.stop();
    await agent?.close();
    await gateway?.stop();
    await workspace?.remove();
  });

  it('answers grpc.health.v1 SERVING once resources and policy are loaded', async () => {
    expect(await healthStatus(`127.0.0.1:${authzPort}`)).to.equal('SERVING');
  });

  it('forwards a tenant read with the array credentials and the canonical path, never the tenant token', async () => {
    const answer = await asTenant('/api/version', token, { cookie: 'session=tenant' });
    expect(answer.status, answer.body).to.equal(200);
    const seen = gateway.requests.filter((r) => r.path.startsWith('/api/version')).at(-1)!;
    expect(seen.path).to.equal('/api/version/');
    const authorization = String(seen.headers.authorization);
    expect(authorization).to.not.contain(token);
    const arrayToken = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString().replace(/^:/, '');
    expect(gateway.issuedTokens).to.include(arrayToken);
    expect(seen.headers).to.not.have.any.keys('cookie', 'forwarded', 'x-storage-authz-cluster');
  });

  it('commits a create in Redis once Envoy reports the array said 2xx', async () => {
    const pool = DEFAULT_POOLS[0]!;
    const body = JSON.stringify({ name: 'edge-vol-1', storagePoolId: pool.id, volumeSizeInKb: String(8 * GIB_IN_KIB), volumeType: 'ThinProvisioned' });
    const answer = await send('/api/types/Volume/instances/', { authorization: `Bearer ${token}`, forwarded, 'content-type': 'application/json' }, 'POST', body);
    expect(answer.status, answer.body).to.equal(200);
    const ledger = await RedisLedger.connect({ url: redis.url });
    try {
      await waitFor(async () => {
        const row = (await ledger.usage(TENANT)).find((candidate) => candidate.pool === pool.name);
        return row?.usedKiB === 8 * GIB_IN_KIB && row.reservedKiB === 0;
      }, 'the reservation to be committed from the access log');
    } finally {
      await ledger.close();
    }
  });

  it('denies a token with a bad signature, alg none, or past its expiry with 401 and a JSON reason', async () => {
    const otherKeys: SigningKeySet = { defaultKid: 'demo', keys: new Map([['demo', new TextEncoder().encode('another-secret-0123456789abcdefghijkl')]]) };
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = { iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant', group: TENANT, roles: workspace.roleName, exp: Math.floor(Date.now() / 1000) + 600 };
    const cases: [string, string, string][] = [
      ['bad signature', await mint(otherKeys), 'signature'],
      ['alg none', `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`, 'algorithm'],
      ['expired', await mint(workspace.signingKeys, Math.floor(Date.now() / 1000) - 7200), 'expired'],
    ];
    for (const [what, bad, reason] of cases) {
      const answer = await neverReachesArray(() => asTenant('/api/version/', bad));
      expect(answer.status, what).to.equal(401);
      expect(String(answer.json().message), what).to.contain(reason);
    }
  });

  it('denies a request without Forwarded with 400 and a JSON reason', async () => {
    const answer = await neverReachesArray(() => send('/api/version/', { authorization: `Bearer ${token}` }));
    expect(answer.status).to.equal(400);
    expect(answer.json()).to.include({ code: 400 }).and.have.property('error').that.contains('Forwarded');
  });

  it('refuses a body larger than Envoy buffers for the Check with 413, never forwarding what was not checked', async () => {
    const body = JSON.stringify({ name: 'big', storagePoolId: DEFAULT_POOLS[0]!.id, volumeSizeInKb: '8388608', padding: 'x'.repeat(70_000) });
    const answer = await neverReachesArray(() =>
      send('/api/types/Volume/instances/', { authorization: `Bearer ${token}`, forwarded, 'content-type': 'application/json' }, 'POST', body),
    );
    expect(answer.status).to.equal(413);
  });

  it('sends /proxy/ to the admin API, which refuses a tenant token, and never to an array', async () => {
    // /proxy/usage/ and /proxy/volumes/ answer a tenant about itself; /proxy/drift/ is for admins only.
    const answer = await neverReachesArray(() => asTenant('/proxy/drift/'));
    expect(answer.status).to.equal(403);
    expect(answer.json()).to.have.property('error').that.contains('admin token required');
  });

  it('denies an unknown system 502 in the PowerFlex error shape', async () => {
    const answer = await neverReachesArray(() => asTenant('/api/version/', token, { forwarded: 'for=csm-authorization;https://x;0000000000000000,by=csm-authorization;powerflex' }));
    expect(answer.status).to.equal(502);
    expect(answer.json()).to.include({ httpStatusCode: 502 });
  });

  it('applies a resource edit to the next decision without a restart, and ignores an invalid one', async () => {
    const tenantFile = path.join(workspace.resourcesDir, `tenant-${TENANT}.yaml`);
    const tenant = (revoke: boolean) =>
      stringify({ apiVersion: API_VERSION, kind: 'CSMTenant', metadata: { name: TENANT }, spec: { roles: workspace.roleName, approveSdc: false, revoke } });
    await writeFile(tenantFile, tenant(true));
    await waitFor(async () => (await asTenant('/api/version/')).status === 401, 'the revocation to take effect');
    const revoked = await neverReachesArray(() => asTenant('/api/version/'));
    expect(revoked.json()).to.include({ message: 'tenant has been revoked' });

    await writeFile(tenantFile, 'kind: CSMTenant\nspec: [not, a, mapping\n');
    await waitForOutput(service, /resource change rejected/);
    expect((await asTenant('/api/version/')).status, 'an invalid edit changes nothing').to.equal(401);

    await writeFile(tenantFile, tenant(false));
    await waitFor(async () => (await asTenant('/api/version/')).status === 200, 'the tenant to be reinstated');
  });

  it('answers 503 (never an allow) once the service has stopped', async () => {
    await service.stop();
    expect(service.child.exitCode, service.output().slice(-2000)).to.equal(0);
    for (const secret of [REDIS_PASSWORD, 'Password123!', token, ...gateway.issuedTokens]) {
      expect(service.output(), 'the service log').to.not.contain(secret);
    }
    const answer = await neverReachesArray(() => asTenant('/api/version/'));
    expect(answer.status).to.equal(503);
    await waitForClusterHealth(envoyAdminPort, AUTHZ_CLUSTER, false);
    expect((await neverReachesArray(() => asTenant('/api/version/'))).status).to.equal(503);
  });
});
