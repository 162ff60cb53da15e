// Tenant sidecar end to end (issue 5): a CSI-driver-shaped client that trusts nothing → the real
// `storage-authz sidecar` process and its Envoy → the real edge Envoy → the decision service and the
// admin API (refresh) → two fake PowerFlex gateways. Only the arrays are faked. Access tokens live
// 5 s and the service allows no clock skew, so a token sent even slightly expired would fail a request.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { Agent, request, type Dispatcher } from 'undici';
import { stringify } from 'yaml';
import { createAdminHandler } from '../src/admin/handler.js';
import { createAdapters, type Adapters } from '../src/arrays/registry.js';
import { createCheckServer, type CheckServer } from '../src/check/server.js';
import { MemoryLedger } from '../src/ledger/memory/memoryLedger.js';
import { confirmFromAccessLog } from '../src/pipeline/confirm/confirm.js';
import { createDecider } from '../src/pipeline/pipeline.js';
import { WasmPolicyEngine } from '../src/pipeline/policy/wasmEngine.js';
import { DirectoryResources } from '../src/resources/directory.js';
import { API_VERSION } from '../src/resources/types.js';
import { silentLogger } from '../src/telemetry/log.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import type { SigningKeySet } from '../src/tokens/types.js';
import { TokenVerifier } from '../src/tokens/verify.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import type { Started } from '../src/harness/process.js';
import { startTestEdge } from './support/edge.js';
import { legacyEntry, startSidecar } from './support/sidecar.js';
import { waitFor } from '../src/harness/wait.js';
import { checkMetrics, sampleValue, samples } from './support/prometheus.js';

// Long enough that a refresh (due at 60 % of the remaining life) has over 3 s to cross sidecar →
// edge → service even when the suite's process stalls; 5 s left under 2 s and failed in a full run.
const ACCESS_TTL_SECONDS = 8;
const TENANT = 'team-a';
const SYSTEM_A = '542a2d5f5122210f';
const SYSTEM_B = '7b0d7b6f6c6e5a01';
const POOL = DEFAULT_POOLS[0]!;

interface SeenAtEdge {
  /** Seconds since the epoch when the decision service got the Check. */
  at: number;
  token: string;
  forwarded: string;
}

describe('tenant sidecar end to end (real sidecar + edge Envoy, service, fake gateways)', function () {
  this.timeout(180_000);

  let dir: string;
  let gatewayA: FakePowerFlexGateway;
  let gatewayB: FakePowerFlexGateway;
  let resources: DirectoryResources;
  let adapters: Adapters;
  let check: CheckServer;
  let admin: http.Server;
  let edge: Started;
  let sidecar: Started;
  let edgePort: number;
  let edgeCa: string;
  let portA: number;
  let portB: number;
  let statusPort: number;
  const seen: SeenAtEdge[] = [];
  const keys: SigningKeySet = { defaultKid: 'e2e', keys: new Map([['e2e', new Uint8Array(randomBytes(48))]]) };
  const driver: Dispatcher = new Agent({ connect: { rejectUnauthorized: false } }); // trusts nothing, like skipCertificateValidation
  let nameCounter = 0;

  const tenantObject = (revoke: boolean) => ({
    apiVersion: API_VERSION, kind: 'CSMTenant', metadata: { name: TENANT }, spec: { roles: 'bronze-a,bronze-b', approveSdc: false, revoke },
  });

  /** Written beside and renamed into place, as kubelet and editors do: never half a file. */
  async function replaceFile(file: string, content: string): Promise<void> {
    await writeFile(`${file}.tmp`, content);
    await rename(`${file}.tmp`, file);
  }

  // Each pair gets its own refresh lifetime, so two pairs minted within one second still differ.
  let refreshTtlSeconds = 3600;
  const mint = (accessTtlSeconds: number, now?: number) =>
    mintTokenPair({ keys, subject: 'csm-tenant', group: TENANT, roles: ['bronze-a', 'bronze-b'], accessTtlSeconds, refreshTtlSeconds: ++refreshTtlSeconds, ...(now && { now }) });

  async function writeTokens(pair: { access: string; refresh: string }): Promise<void> {
    await replaceFile(path.join(dir, 'tokens', 'access'), pair.access);
    await replaceFile(path.join(dir, 'tokens', 'refresh'), pair.refresh);
  }

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-e2e-'));
    [gatewayA, gatewayB] = await Promise.all([FakePowerFlexGateway.start({ systemId: SYSTEM_A }), FakePowerFlexGateway.start({ systemId: SYSTEM_B })]);

    // The storage admin's side: two arrays, a role per array, one tenant bound to both.
    const resourcesDir = path.join(dir, 'resources');
    const secretsDir = path.join(dir, 'secrets');
    await Promise.all([resourcesDir, path.join(secretsDir, 'powerflex-creds'), path.join(dir, 'tokens')].map((d) => mkdir(d, { recursive: true })));
    const objects: Record<string, unknown> = { 'tenant.yaml': tenantObject(false) };
    // Both fake gateways' self-signed certificates carry the same subject name, which one trust store
    // cannot tell apart: B's certificate is not verified (the edge's TLS to arrays is not under test here).
    for (const [suffix, gateway] of [['a', gatewayA], ['b', gatewayB]] as const) {
      objects[`storage-${suffix}.yaml`] = {
        apiVersion: API_VERSION, kind: 'Storage', metadata: { name: `powerflex-${suffix}` },
        spec: { type: 'powerflex', endpoint: gateway.url, systemID: gateway.systemId, skipCertificateValidation: gateway === gatewayB, storageSystemCredentials: { secret: 'powerflex-creds' } },
      };
      objects[`role-${suffix}.yaml`] = {
        apiVersion: API_VERSION, kind: 'CSMRole', metadata: { name: `bronze-${suffix}` },
        spec: { quota: '1024GiB', systemType: 'powerflex', systemID: gateway.systemId, pool: POOL.name },
      };
    }
    for (const [name, object] of Object.entries(objects)) await writeFile(path.join(resourcesDir, name), stringify(object));
    await writeFile(path.join(secretsDir, 'powerflex-creds', 'username'), 'admin');
    await writeFile(path.join(secretsDir, 'powerflex-creds', 'password'), 'Password123!');
    const arrayCa = gatewayA.ca;

    // The decision service and admin API, with refreshed tokens as short-lived as the issued ones.
    resources = await DirectoryResources.open(resourcesDir, { secretsDir, logger: silentLogger });
    const policy = await WasmPolicyEngine.load();
    policy.setRoles(resources.current().roles.values());
    resources.onChange((snapshot) => policy.setRoles(snapshot.roles.values()));
    adapters = createAdapters({ ca: arrayCa });
    const verifier = new TokenVerifier({ keys: () => keys, clockSkewSeconds: 0 });
    const ledger = new MemoryLedger();
    const decide = createDecider({ verifier, resources, adapters: adapters.registry, policy, ledger, logger: silentLogger });
    check = createCheckServer({
      decide: (req) => {
        seen.push({ at: Date.now() / 1000, token: (req.headers.authorization ?? '').replace(/^Bearer /, ''), forwarded: req.headers.forwarded ?? '' });
        return decide(req);
      },
      onAccessLog: confirmFromAccessLog(ledger, { resources, adapters: adapters.registry }),
    });
    const authzPort = await check.listen('127.0.0.1:0');
    check.setServing(true);
    admin = http.createServer(createAdminHandler({
      resources, ledger, verifier, keys: () => keys, logger: silentLogger,
      tokenDefaults: { refreshedTenantAccessTtlSeconds: ACCESS_TTL_SECONDS },
    }));
    await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));

    ({ port: edgePort, envoy: edge, ca: edgeCa } = await startTestEdge({ dir, arrayCa: arrayCa, authzPort, adminApiPort: (admin.address() as AddressInfo).port, storage: [...resources.current().storage.values()] }));

    // The tenant's side: the driver secret (legacy form for A, driver form for B), the token secret, the sidecar.
    const running = await startSidecar({
      dir, edgePort, edgeCa, arrays: 2, tokens: await mint(ACCESS_TTL_SECONDS),
      driverConfig: ([a, b]) => [
        legacyEntry(gatewayA.url, SYSTEM_A, a!),
        { username: 'placeholder', password: 'placeholder', endpoint: `https://localhost:${b!}`, systemID: SYSTEM_B, skipCertificateValidation: true },
      ],
    });
    sidecar = running.process;
    [portA, portB] = running.ports as [number, number];
    statusPort = running.statusPort;
    // The edge routes Checks only once its health check has seen the service SERVING.
    await waitFor(async () => (await send(portA, 'GET', '/api/login')).status === 200, 'a driver login through sidecar and edge', 30_000, 200);
  });

  after(async () => {
    await sidecar?.stop();
    await edge?.stop();
    await driver.close();
    if (admin) await new Promise((resolve) => admin.close(resolve));
    await check?.close(1000);
    await adapters?.close();
    resources?.close();
    await gatewayA?.stop();
    await gatewayB?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A request the way the PowerFlex driver sends it to its "array" at https://localhost:<port>. */
  async function send(port: number, method: Dispatcher.HttpMethod, target: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await request(`https://localhost:${port}${target}`, {
      method,
      dispatcher: driver,
      headers: {
        authorization: `Basic ${Buffer.from('placeholder:placeholder').toString('base64')}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the assertion message
    }
    return { status: response.statusCode, body: parsed };
  }

  const createVolume = (port: number) =>
    send(port, 'POST', '/api/types/Volume/instances/', { name: `sidecar-${++nameCounter}`, storagePoolId: POOL.id, volumeSizeInKb: String(8 * GIB_IN_KIB), volumeType: 'ThinProvisioned' });
  const deleteVolume = (port: number, id: string) => send(port, 'POST', `/api/instances/Volume::${id}/action/removeVolume/`, { removeMode: 'ONLY_ME' });

  it("reaches the edge with Dell's Forwarded values and a Bearer token; the array sees neither", async () => {
    const from = seen.length;
    const created = await createVolume(portA);
    expect(created.status, JSON.stringify(created.body)).to.equal(200);
    const check = seen.slice(from).at(-1)!;
    // Envoy joins the two header lines with ',' in the CheckRequest.
    expect(check.forwarded).to.equal(`for=csm-authorization;${gatewayA.url};${SYSTEM_A},by=csm-authorization;powerflex`);
    expect(decodeJwt(check.token)).to.include({ group: TENANT, sub: 'csm-tenant' });
    const onArray = gatewayA.requestsTo('/api/types/Volume/instances').at(-1)!;
    expect(String(onArray.headers.authorization)).to.match(/^Basic /);
    expect(onArray.headers).to.not.have.property('forwarded');
  });

  it('creates and deletes volumes continuously over five access-token lifetimes with no failure and never an expired token', async () => {
    const from = seen.length;
    const until = Date.now() + 5 * ACCESS_TTL_SECONDS * 1000 + 1000;
    const failures: string[] = [];
    let cycles = 0;
    while (Date.now() < until) {
      const created = await createVolume(portA);
      if (created.status !== 200) failures.push(`create ${created.status} ${JSON.stringify(created.body)}`);
      else {
        const deleted = await deleteVolume(portA, (created.body as { id: string }).id);
        if (deleted.status !== 200) failures.push(`delete ${deleted.status} ${JSON.stringify(deleted.body)}`);
      }
      cycles++;
    }
    expect(failures.slice(0, 5), `${failures.length} failures`).to.deep.equal([]);
    expect(cycles).to.be.greaterThan(5);
    const checks = seen.slice(from);
    const tokens = new Set(checks.map((c) => c.token));
    expect(tokens.size, 'a new access token at least every lifetime').to.be.at.least(5);
    for (const c of checks) expect(decodeJwt(c.token).exp!, 'token expired when it reached the edge').to.be.greaterThan(c.at);
  });

  it('routes each local port to its own array', async () => {
    const created = await createVolume(portB);
    expect(created.status, JSON.stringify(created.body)).to.equal(200);
    const id = (created.body as { id: string }).id;
    expect(gatewayB.volumes.map((v) => v.id)).to.include(id);
    expect(gatewayA.volumes.map((v) => v.id)).to.not.include(id);
    expect(seen.at(-1)!.forwarded).to.equal(`for=csm-authorization;https://localhost:${portB};${SYSTEM_B},by=csm-authorization;powerflex`);
    expect((await deleteVolume(portB, id)).status).to.equal(200);
  });

  it("answers Dell's refresh request (path without trailing slash, expired access token) through the edge", async () => {
    const old = await mint(1, Math.floor(Date.now() / 1000) - 10);
    const response = await request(`https://localhost:${edgePort}/proxy/refresh-token`, {
      method: 'POST',
      dispatcher: new Agent({ connect: { ca: edgeCa } }),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: old.refresh, accessToken: old.access }),
    });
    expect(response.statusCode).to.equal(200);
    const body = (await response.body.json()) as Record<string, string>;
    expect(Object.keys(body)).to.deep.equal(['accessToken']);
    expect(decodeJwt(body.accessToken!)).to.include({ group: TENANT });
  });

  it('switches to a newly applied token secret without a restart', async () => {
    const reissued = await mint(60);
    await writeTokens(reissued);
    await waitFor(async () => {
      expect((await send(portA, 'GET', '/api/version')).status).to.equal(200);
      return seen.at(-1)!.token === reissued.access;
    }, 'requests to carry the re-issued access token', 10_000, 100);
  });

  it("refuses a revoked tenant within one access-token lifetime, and the sidecar says why", async () => {
    // Back to short-lived tokens so the sidecar meets the revocation at its next refresh.
    await writeTokens(await mint(ACCESS_TTL_SECONDS));
    await waitFor(async () => (await send(portA, 'GET', '/api/version')).status === 200 && decodeJwt(seen.at(-1)!.token).exp! - Date.now() / 1000 < ACCESS_TTL_SECONDS + 1, 'the short-lived pair in use', 10_000, 100);

    await replaceFile(path.join(dir, 'resources', 'tenant.yaml'), stringify(tenantObject(true)));
    await waitFor(async () => (await send(portA, 'GET', '/api/version')).status !== 200, 'requests to be refused', ACCESS_TTL_SECONDS * 1000, 100);

    await waitFor(async () => {
      const status = await request(`http://127.0.0.1:${statusPort}/ready`);
      const body = (await status.body.json()) as { ready: boolean; problem?: string };
      return status.statusCode === 503 && body.problem?.includes('tenant-revoked') === true;
    }, 'the sidecar to report the revocation as not ready', 2 * ACCESS_TTL_SECONDS * 1000, 100);
    expect(sidecar.output().match(/cancel the revocation/g)).to.have.length(1);

    // The status listener's /metrics says the same to a scraper: refreshes that worked, the refused ones, the token's time left.
    const scraped = await request(`http://127.0.0.1:${statusPort}/metrics`);
    const text = await scraped.body.text();
    await checkMetrics(text);
    const all = samples(text);
    expect(sampleValue(all, 'storage_authz_sidecar_token_refreshes_total', { result: 'ok' })).to.be.greaterThan(0);
    expect(sampleValue(all, 'storage_authz_sidecar_token_refreshes_total', { result: 'failed' })).to.be.greaterThan(0);
    expect(sampleValue(all, 'storage_authz_sidecar_token_expiry_seconds')).to.be.below(ACCESS_TTL_SECONDS + 1);
  });
});
