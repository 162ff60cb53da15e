// storage-authz as an Istio CUSTOM provider (edge.mode=istio): the chart's rendered Istio objects and
// the README's meshConfig, turned into the gateway Envoy configuration istiod generates for them
// (test/support/istioGateway.ts), run by a real Envoy in front of the real `serve` process and the
// fake PowerFlex gateway. Istio's ext_authz differs from our own edge: it runs only when the shadow
// RBAC filter matched, calls with an authority made from the cluster name, and there is no
// access-log stream: Istio's envoyHttpAls provider sends the raw cluster name (`outbound|…`) as
// :authority, which Node's HTTP/2 (and Envoy's, tried as a relay) refuse, so the resolver settles
// every hold by asking the array once the route timeout has passed.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, request } from 'undici';
import { parseAllDocuments } from 'yaml';
import type { UsageReportRow } from '../src/admin/usage.js';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { freePort, waitForPort } from '../src/harness/ports.js';
import { start, waitForOutput, type Started } from '../src/harness/process.js';
import { envoyBin, repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { renderIstioGateway, type MeshProviders } from './support/istioGateway.js';
import { runTool } from './support/tools.js';

const CLI = [path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), path.join(repoRoot, 'src/main.ts')];
const CHART = path.join(repoRoot, 'charts/storage-authz');
const NAMESPACE = 'authz';
const SERVICE = `authz-storage-authz.${NAMESPACE}.svc.cluster.local`;
const TENANT = 'team-a';
const POOL = DEFAULT_POOLS[0]!;
const QUOTA_GIB = 16;
/** The gateway's route timeout (VirtualService) and serve's, short so the resolver settles within the test. */
const ROUTE_TIMEOUT_MS = 2000;

/** The README's meshConfig extensionProviders, as values. */
const MESH: MeshProviders = {
  extAuthz: {
    name: 'storage-authz', service: SERVICE, port: 50051, timeoutMs: 5000, failOpen: false, clearRouteCache: true, statusOnError: '503',
    includeRequestBodyInCheck: { maxRequestBytes: 65536, allowPartialMessage: false, packAsBytes: true },
  },
};

describe('Istio mode: an Envoy configured as istiod does for the chart (CUSTOM provider) + serve + fake PowerFlex', function () {
  this.timeout(120_000);

  let gateway: FakePowerFlexGateway;
  let workspace: Workspace;
  let service: Started;
  let envoy: Started;
  let agent: Agent;
  let url: string;
  let forwarded: string;
  let tenant: { access: string; refresh: string };
  let admin: string;

  async function send(method: 'GET' | 'POST', target: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: string }> {
    const response = await request(`${url}${target}`, {
      method, dispatcher: agent,
      headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.statusCode, body: await response.body.text() };
  }
  const asTenant = (method: 'GET' | 'POST', target: string, body?: unknown) => send(method, target, { authorization: `Bearer ${tenant.access}`, forwarded }, body);
  const usage = async (): Promise<UsageReportRow | undefined> => {
    const answer = await send('GET', '/proxy/usage/', { authorization: `Bearer ${admin}` });
    expect(answer.status, answer.body).to.equal(200);
    return (JSON.parse(answer.body) as { usage: UsageReportRow[] }).usage.find((row) => row.tenant === TENANT && row.pool === POOL.name);
  };

  before(async () => {
    gateway = await FakePowerFlexGateway.start();
    workspace = await createWorkspace({
      array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: 'admin', password: 'Password123!' },
      pool: POOL.name, quotaGiB: QUOTA_GIB, tenants: [{ name: TENANT, approveSdc: false }],
    });
    forwarded = `for=csm-authorization;${gateway.url};${gateway.systemId},by=csm-authorization;csi-vxflexos`;
    tenant = await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: TENANT, roles: [workspace.roleName], accessTtlSeconds: 600, refreshTtlSeconds: 3600 });
    admin = (await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-admin', group: 'istio-admin', roles: [], accessTtlSeconds: 600, refreshTtlSeconds: 3600 })).access;

    const [authzPort, adminPort, listenPort] = [await freePort(), await freePort(), await freePort()];
    service = start(process.execPath, [
      ...CLI, 'serve',
      '--listen', `127.0.0.1:${authzPort}`,
      '--admin-listen', `127.0.0.1:${adminPort}`,
      '--resources-dir', workspace.resourcesDir,
      '--secrets-dir', workspace.secretsDir,
      '--signing-keys-dir', workspace.keysDir,
      '--default-kid', 'demo',
      '--array-ca-file', workspace.arrayCaFile,
      '--drain-ms', '1000',
      '--route-timeout-ms', String(ROUTE_TIMEOUT_MS),
    ]);
    await waitForOutput(service, /storage-authz serving/);

    const arrayPort = Number(new URL(gateway.url).port);
    const rendered = await runTool('helm', [
      'template', 'authz', CHART, '--namespace', NAMESPACE,
      '--set', 'edge.mode=istio', '--set', `edge.routeTimeoutMs=${ROUTE_TIMEOUT_MS}`,
      '--set', 'istio.arrays[0].name=powerflex-a', '--set', 'istio.arrays[0].storage=powerflex-1',
      '--set', 'istio.arrays[0].host=localhost', '--set', `istio.arrays[0].port=${arrayPort}`,
    ]);
    expect(rendered.code, rendered.stderr).to.equal(0);
    const objects = parseAllDocuments(rendered.stdout).map((doc) => doc.toJS() as never).filter(Boolean);
    const config = renderIstioGateway({
      objects, mesh: MESH,
      listen: { port: listenPort, certFile: workspace.edgeCertFile, keyFile: workspace.edgeKeyFile },
      endpoints: {
        [`${SERVICE}:50051`]: { address: '127.0.0.1', port: authzPort },
        [`${SERVICE}:9400`]: { address: '127.0.0.1', port: adminPort },
        [`localhost:${arrayPort}`]: { address: '127.0.0.1', port: arrayPort },
      },
      arrayCaFile: workspace.arrayCaFile,
    });
    const configFile = path.join(workspace.dir, 'istio-gateway.json');
    await writeFile(configFile, JSON.stringify(config));
    envoy = start(envoyBin, ['-c', configFile, '--use-dynamic-base-id', '--log-level', 'warn']);
    await waitForPort(listenPort).catch((error: Error) => { throw new Error(`${error.message}\n${envoy.output()}`); });
    url = `https://127.0.0.1:${listenPort}`;
    agent = new Agent({ connect: { ca: workspace.edgeCa } });
  });

  after(async () => {
    await envoy?.stop();
    await service?.stop();
    await agent?.close();
    await gateway?.stop();
    await workspace?.remove();
  });

  it('forwards an allowed create with the array credentials, routed by the allow response; it counts against the quota at once and is settled by asking the array', async () => {
    const created = await asTenant('POST', '/api/types/Volume/instances/', { name: 'istio-vol-1', storagePoolId: POOL.id, volumeSizeInKb: String(8 * GIB_IN_KIB), volumeType: 'ThinProvisioned' });
    expect(created.status, created.body).to.equal(200);
    const seen = gateway.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/api/types/Volume/instances')).at(-1)!;
    expect(seen.headers.authorization).to.not.contain(tenant.access);
    expect(seen.headers).to.not.have.any.keys('forwarded', 'x-storage-authz-cluster');
    const held = await usage();
    expect(held!.usedKiB + held!.reservedKiB, 'held or charged right after the create').to.equal(8 * GIB_IN_KIB);
    await waitFor(async () => {
      const row = await usage();
      return row?.usedKiB === 8 * GIB_IN_KIB && row.reservedKiB === 0;
    }, 'the resolver to find the volume on the array and charge it', 30_000, 250);
  });

  it('denies the create that would exceed the quota with 507 in the PowerFlex shape, before the array', async () => {
    const before = gateway.requests.length;
    const denied = await asTenant('POST', '/api/types/Volume/instances/', { name: 'istio-vol-2', storagePoolId: POOL.id, volumeSizeInKb: String(16 * GIB_IN_KIB), volumeType: 'ThinProvisioned' });
    expect(denied.status, denied.body).to.equal(507);
    expect(JSON.parse(denied.body)).to.include({ httpStatusCode: 507 });
    expect(gateway.requests.length, 'requests the array saw').to.equal(before);
  });

  it('frees the capacity of a deleted volume', async () => {
    const listed = await asTenant('GET', '/api/types/Volume/instances/');
    expect(listed.status, listed.body).to.equal(200);
    const volume = (JSON.parse(listed.body) as { id: string; name: string }[]).find((v) => v.name === 'istio-vol-1')!;
    const removed = await asTenant('POST', `/api/instances/Volume::${volume.id}/action/removeVolume/`, { removeMode: 'ONLY_ME' });
    expect(removed.status, removed.body).to.equal(200);
    await waitFor(async () => (await usage())?.usedKiB === 0, 'the resolver to free the capacity of the deleted volume', 30_000, 250);
  });

  it('serves /proxy/ (the sidecar\'s token refresh) past the CUSTOM policy, from serve\'s admin listener', async () => {
    // Refreshed, as the sidecar does, in the last part of the access token's lifetime.
    const nearExpiry = await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: TENANT, roles: [workspace.roleName], accessTtlSeconds: 600, refreshTtlSeconds: 3600, now: Math.floor(Date.now() / 1000) - 590 });
    const refreshed = await send('POST', '/proxy/refresh-token/', {}, { refreshToken: nearExpiry.refresh, accessToken: nearExpiry.access });
    expect(refreshed.status, refreshed.body).to.equal(200);
    expect(JSON.parse(refreshed.body)).to.have.property('accessToken').that.is.a('string');
  });

  it('refuses a request with no token 401 and answers 503, never an allow, once serve is gone', async () => {
    const before = gateway.requests.length;
    expect((await send('GET', '/api/version/', { forwarded })).status).to.equal(401);
    await service.stop();
    expect((await asTenant('GET', '/api/version/')).status).to.equal(503);
    expect(gateway.requests.length, 'requests the array saw').to.equal(before);
  });
});
