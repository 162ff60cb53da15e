// What a tenant may read about itself (issue 21): two tenants create volumes through the real edge
// Envoy and decision service against a fake PowerFlex gateway, then each reads `GET /proxy/volumes/`
// (Dell's answer, what `dellctl volume list --proxy` reads) and its usage through the same edge with
// its own token, and with `authzctl --tenant-token` — and never sees the other tenant.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Agent, request, type Dispatcher } from 'undici';
import { stringify } from 'yaml';
import { tokenSecretManifest } from '../src/admin/tenantToken.js';
import type { AccessLogRecord } from '../src/check/server.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import type { MemoryLedger } from '../src/ledger/memory/memoryLedger.js';
import { DirectoryResources } from '../src/resources/directory.js';
import { API_VERSION } from '../src/resources/types.js';
import { silentLogger } from '../src/telemetry/log.js';
import { mintTokenPair, type TokenPair } from '../src/tokens/mint.js';
import type { SigningKeySet } from '../src/tokens/types.js';
import { runAuthzctl } from './support/authzctl.js';
import { startServiceStack, type ServiceStack } from './support/serviceStack.js';

const SYSTEM = '542a2d5f5122210f';
const POOL = DEFAULT_POOLS[0]!;
const GiB = GIB_IN_KIB;

describe('tenant reads through the edge: own volumes and quota, never another tenant\'s', function () {
  this.timeout(120_000);

  let dir: string;
  let gateway: FakePowerFlexGateway;
  let resources: DirectoryResources;
  let stack: ServiceStack;
  let ledger: MemoryLedger;
  let edgePort: number;
  let forwarded: string;
  const tokens: Record<string, TokenPair> = {};
  const logged: AccessLogRecord[] = [];
  const keys: SigningKeySet = { defaultKid: 'k', keys: new Map([['k', new Uint8Array(randomBytes(48))]]) };
  const client: Dispatcher = new Agent({ connect: { rejectUnauthorized: false } });

  before(async () => {
    await promisify(execFile)('npx', ['tsc', '-p', 'src/cli/tsconfig.json'], { cwd: repoRoot });
    dir = await mkdtemp(path.join(os.tmpdir(), 'tenant-reads-'));
    gateway = await FakePowerFlexGateway.start({ systemId: SYSTEM });
    forwarded = `for=csm-authorization;${gateway.url};${SYSTEM},by=csm-authorization;powerflex`;
    const resourcesDir = path.join(dir, 'resources');
    const secretsDir = path.join(dir, 'secrets');
    await mkdir(resourcesDir, { recursive: true });
    await mkdir(path.join(secretsDir, 'powerflex-creds'), { recursive: true });
    const object = (kind: string, name: string, spec: unknown) => stringify({ apiVersion: API_VERSION, kind, metadata: { name }, spec });
    await writeFile(path.join(resourcesDir, 'objects.yaml'), [
      object('Storage', 'powerflex', { type: 'powerflex', endpoint: gateway.url, systemID: SYSTEM, skipCertificateValidation: false, storageSystemCredentials: { secret: 'powerflex-creds' } }),
      object('CSMRole', 'role-a', { quota: '64GiB', systemType: 'powerflex', systemID: SYSTEM, pool: POOL.name }),
      object('CSMRole', 'role-b', { quota: '32GiB', systemType: 'powerflex', systemID: SYSTEM, pool: POOL.name }),
      object('CSMTenant', 'team-a', { roles: 'role-a', approveSdc: false, revoke: false }),
      object('CSMTenant', 'team-b', { roles: 'role-b', approveSdc: false, revoke: false }),
    ].join('---\n'));
    await writeFile(path.join(secretsDir, 'powerflex-creds', 'username'), 'admin');
    await writeFile(path.join(secretsDir, 'powerflex-creds', 'password'), 'Password123!');

    resources = await DirectoryResources.open(resourcesDir, { secretsDir, logger: silentLogger });
    stack = await startServiceStack({ dir, resources, keys, arrayCa: gateway.ca, observeAccessLog: (record) => logged.push(record) });
    ({ edgePort, ledger } = stack);
    await writeFile(path.join(dir, 'edge-ca.pem'), stack.edgeCa);

    for (const [tenant, role] of [['team-a', 'role-a'], ['team-b', 'role-b']] as const) {
      tokens[tenant] = await mintTokenPair({ keys, subject: 'csm-tenant', group: tenant, roles: [role], accessTtlSeconds: 600, refreshTtlSeconds: 3600 });
    }
    // Each tenant creates volumes as its driver would (the sidecar's Bearer token and Forwarded).
    for (const [tenant, name, gib] of [['team-a', 'k8s-a-1', 8], ['team-a', 'k8s-a-2', 16], ['team-b', 'k8s-b-1', 24]] as const) {
      const created = await edgeCall('POST', '/api/types/Volume/instances/', tokens[tenant]!.access, { name, storagePoolId: POOL.id, volumeSizeInKb: String(gib * GiB), volumeType: 'ThinProvisioned' });
      expect(created.status, created.body).to.equal(200);
    }
    await waitFor(async () => (await ledger.volumes()).every((v) => v.state === 'committed'), 'the three volumes committed from the access log');
  });

  after(async () => {
    await stack?.stop();
    await client.close();
    resources?.close();
    await gateway?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function edgeCall(method: Dispatcher.HttpMethod, target: string, token: string, body?: unknown): Promise<{ status: number; body: string }> {
    const response = await request(`https://localhost:${edgePort}${target}`, {
      method, dispatcher: client,
      headers: { authorization: `Bearer ${token}`, forwarded, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.statusCode, body: await response.body.text() };
  }

  it("GET /proxy/volumes/ with a tenant token: that tenant's volumes in Dell's shape, and nothing of the other", async () => {
    const a = await edgeCall('GET', '/proxy/volumes/', tokens['team-a']!.access);
    expect(a.status, a.body).to.equal(200);
    expect((JSON.parse(a.body) as { name: string; size: number; systemId: string; pool: string }[]).map(({ name, size, systemId, pool }) => ({ name, size, systemId, pool }))).to.deep.equal([
      { name: 'k8s-a-1', size: 8, systemId: SYSTEM, pool: POOL.name },
      { name: 'k8s-a-2', size: 16, systemId: SYSTEM, pool: POOL.name },
    ]);
    const b = await edgeCall('GET', '/proxy/volumes/', tokens['team-b']!.access);
    expect((JSON.parse(b.body) as { name: string }[]).map((v) => v.name)).to.deep.equal(['k8s-b-1']);
    const peek = await edgeCall('GET', '/proxy/volumes/?tenant=team-a', tokens['team-b']!.access);
    expect(peek.status).to.equal(403);
    expect(peek.body).to.not.contain('k8s-a');
  });

  it('GET /proxy/usage/ with a tenant token: its quota, used and free on its pool only', async () => {
    for (const [tenant, quota, used] of [['team-a', 64, 24], ['team-b', 32, 24]] as const) {
      const reply = await edgeCall('GET', '/proxy/usage/', tokens[tenant]!.access);
      expect(reply.status, reply.body).to.equal(200);
      const rows = (JSON.parse(reply.body) as { usage: { tenant: string; pool: string; quotaKiB: number; usedKiB: number; freeKiB: number }[] }).usage;
      expect(rows.map(({ tenant: t, pool, quotaKiB, usedKiB, freeKiB }) => ({ tenant: t, pool, quotaKiB, usedKiB, freeKiB }))).to.deep.equal([
        { tenant, pool: POOL.name, quotaKiB: quota * GiB, usedKiB: used * GiB, freeKiB: (quota - used) * GiB },
      ]);
    }
  });

  it('authzctl volumes / usage with --tenant-token (the proxy-authz-tokens Secret) show that tenant only', async () => {
    const secretFile = path.join(dir, 'team-b-secret.yaml');
    await writeFile(secretFile, tokenSecretManifest(tokens['team-b']!));
    const cli = (args: string[]) => runAuthzctl(['--addr', `localhost:${edgePort}`, '--ca', path.join(dir, 'edge-ca.pem'), '--tenant-token', secretFile, ...args]);
    const volumes = await cli(['volumes']);
    expect(volumes.code, volumes.stderr).to.equal(0);
    expect(volumes.stdout).to.contain('k8s-b-1').and.contain('24GiB').and.not.contain('k8s-a');
    const usage = await cli(['-o', 'json', 'usage']);
    expect(usage.code, usage.stderr).to.equal(0);
    expect((JSON.parse(usage.stdout) as { usage: { tenant: string }[] }).usage.map((row) => row.tenant)).to.deep.equal(['team-b']);
    const other = await cli(['volumes', '--tenant', 'team-a']);
    expect(other.code).to.equal(1);
    expect(other.stderr).to.match(/admin API answered 403: a tenant token shows only its own tenant \("team-b"\)/);
  });

  it('a tenant token still cannot manage: generate token is refused with 403', async () => {
    const reply = await edgeCall('POST', '/proxy/tenant/token/', tokens['team-a']!.access, { tenant: 'team-a' });
    expect(reply.status).to.equal(403);
  });

  it('streams to the service only what it acts on: a create (its hold), never a read the array answered', async () => {
    const read = await edgeCall('GET', '/api/types/StoragePool/instances/', tokens['team-a']!.access);
    expect(read.status, read.body).to.equal(200);
    const created = await edgeCall('POST', '/api/types/Volume/instances/', tokens['team-a']!.access, { name: 'k8s-a-log', storagePoolId: POOL.id, volumeSizeInKb: String(GiB), volumeType: 'ThinProvisioned' });
    expect(created.status, created.body).to.equal(200);
    // One stream, in order: a logged read would arrive before the create's entry.
    await waitFor(() => logged.filter((r) => r.metadata.operation === 'volume-create').length === 4, 'the fourth create logged');
    expect(logged.map((r) => r.metadata.operation)).to.deep.equal(['volume-create', 'volume-create', 'volume-create', 'volume-create']);
    expect(logged.every((r) => r.metadata.holds !== undefined && r.responseCode === 200)).to.equal(true);
  });
});
