// PowerStore end to end (issue 14): Dell's own client library (gopowerstore v1.20.1, what
// csi-powerstore v2.15.1 pins; test/gopowerstore-driver) makes the CSI controller's calls → the real
// tenant sidecar and its Envoy → the real edge Envoy → the decision service (Redis ledger) → the fake
// PowerStore. gopowerstore sends its own bodies, headers, cookie and CSRF token; nothing in the
// block and NFS sequences is shaped by hand.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { startStack, type Stack } from '../src/demo/stack.js';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { FakePowerStore, GIB, type SeenRequest } from '../src/fakes/powerstore/array.js';
import { waitFor } from '../src/harness/wait.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { GoDriver, goDriverBin, type DriverResult } from './support/goDriver.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { startSidecar, type RunningSidecar } from './support/sidecar.js';

const QUOTA_GIB = 64;
const GIB_KIB = 1024 * 1024;
/** What csi-powerstore adds to every file system's requested size (test/gopowerstore-driver). */
const RESERVED_BYTES = 1610612736;
/** Short, so the test can let the service's session outlive it. */
const ARRAY_IDLE_TIMEOUT_MS = 4000;
const TENANTS = ['team-a', 'team-b'] as const;
type TenantName = (typeof TENANTS)[number];

describe('PowerStore driven by gopowerstore through sidecar → edge → service (real Envoy, Redis, fake PowerStore)', function () {
  this.timeout(240_000);

  let dir: string;
  let array: FakePowerStore;
  let redis: RunningRedis;
  let ledger: RedisLedger;
  let workspace: Workspace;
  let stack: Stack;
  let tls: Agent;
  const sidecars = {} as Record<TenantName, RunningSidecar>;
  const drivers = {} as Record<TenantName, GoDriver>;
  let counter = 0;

  before(async () => {
    const bin = goDriverBin('gopowerstore-driver');
    dir = await mkdtemp(path.join(os.tmpdir(), 'powerstore-e2e-'));
    array = await FakePowerStore.start({ idleTimeoutMs: ARRAY_IDLE_TIMEOUT_MS });
    redis = await startRedis();
    ledger = await RedisLedger.connect({ url: redis.url });
    workspace = await createWorkspace({
      systemType: 'powerstore',
      array: { endpoint: array.url, systemId: array.systemId, ca: array.ca, username: 'admin', password: 'Password123!' },
      // PowerStore has no pools: the role's pool is the systemID.
      pool: array.systemId,
      quotaGiB: QUOTA_GIB,
      tenants: TENANTS.map((name) => ({ name, approveSdc: false })),
    });
    stack = await startStack({ workspace, redisUrl: redis.url });
    tls = new Agent({ connect: { rejectUnauthorized: false } });
    for (const tenant of TENANTS) {
      const tokens = await mintTokenPair({
        keys: workspace.signingKeys, subject: 'csm-tenant', group: tenant, roles: [workspace.roleName], accessTtlSeconds: 3600, refreshTtlSeconds: 7200,
      });
      sidecars[tenant] = await startSidecar({
        dir: path.join(dir, tenant), edgePort: Number(new URL(stack.edgeUrl).port), edgeCa: workspace.edgeCa, tokens, plugin: 'powerstore', arrays: 1,
        // The PowerStore driver secret (`arrays: [{endpoint, globalID, …}]`), pointed at the sidecar.
        driverConfig: ([port]) => ({ arrays: [{ endpoint: `https://localhost:${port!}/api/rest`, globalID: array.systemId, username: 'placeholder', password: 'placeholder', skipCertificateValidation: true, isDefault: true, blockProtocol: 'iSCSI' }] }),
      });
      drivers[tenant] = new GoDriver(bin);
    }
  });

  after(async () => {
    await Promise.all(Object.values(drivers).map((driver) => driver.close()));
    await Promise.all(Object.values(sidecars).map((sidecar) => sidecar.stop()));
    await stack?.stop();
    await tls?.close();
    await ledger?.close();
    await redis?.stop();
    await array?.stop();
    await workspace?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const unique = (prefix: string) => `csi-${prefix}-${++counter}`;

  /** One driver call that must succeed. */
  async function ok(tenant: TenantName, command: Record<string, unknown>): Promise<DriverResult> {
    const result = await drivers[tenant].call(command);
    expect(result, JSON.stringify(result)).to.include({ ok: true });
    return result;
  }

  async function used(tenant: TenantName): Promise<{ usedKiB: number; reservedKiB: number }> {
    const row = (await ledger.usage(tenant)).find((candidate) => candidate.pool === array.systemId);
    return { usedKiB: row?.usedKiB ?? 0, reservedKiB: row?.reservedKiB ?? 0 };
  }

  /** The tenant's usage once Envoy's access log has settled every hold. */
  async function settled(tenant: TenantName, usedKiB: number): Promise<void> {
    await waitFor(async () => {
      const now = await used(tenant);
      return now.reservedKiB === 0 && now.usedKiB === usedKiB;
    }, `usage of ${tenant} to settle at ${usedKiB / GIB_KIB} GiB`, 15_000);
  }

  /** The tenant's usage once nothing is held any more (every create or expand in flight confirmed). */
  async function confirmed(tenant: TenantName): Promise<{ usedKiB: number; reservedKiB: number }> {
    await waitFor(async () => (await used(tenant)).reservedKiB === 0, `the holds of ${tenant} to be confirmed`, 15_000);
    return used(tenant);
  }

  /** A request through a tenant's sidecar with the headers gopowerstore sends (its placeholder Basic, the spoofed session). */
  async function send(tenant: TenantName, replayed: Pick<SeenRequest, 'method' | 'path' | 'body'>): Promise<{ status: number; body: unknown }> {
    const response = await request(`https://localhost:${sidecars[tenant].ports[0]!}${replayed.path}`, {
      method: replayed.method as 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('placeholder:placeholder').toString('base64')}`,
        cookie: 'auth_cookie=hellofromkaravi',
        'dell-emc-token': 'hellofromkaravi',
        accept: 'application/json',
        ...(replayed.body === '' ? {} : { 'content-type': 'application/json' }),
      },
      body: replayed.body === '' ? undefined : replayed.body,
      dispatcher: tls,
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text === '' ? undefined : JSON.parse(text) };
  }

  /** The mutations the array received, in order (the service's own lookups are GETs). */
  const mutations = (from: number) => array.requests.slice(from).filter((seen) => seen.method !== 'GET');
  const forwarded = (method: string, pattern: RegExp) => array.requests.filter((seen) => seen.method === method && pattern.test(seen.path.split('?')[0]!));

  it('connects: the driver login (login_session) is answered by storage-authz, the array sees only the service\'s own session', async () => {
    for (const tenant of TENANTS) {
      const connected = await ok(tenant, { op: 'connect', endpoint: `https://localhost:${sidecars[tenant].ports[0]!}` });
      expect(connected.cluster).to.equal('PS-fake');
    }
    const service = `Basic ${Buffer.from('admin:Password123!').toString('base64')}`;
    // Only the service logs in, with the array's credentials; the driver's placeholder Basic never arrives.
    const withBasic = array.requests.filter((seen) => seen.headers.authorization !== undefined);
    expect(withBasic.map((seen) => seen.headers.authorization)).to.satisfy((values: string[]) => values.every((value) => value === service));
    expect(array.requests.filter((seen) => seen.path.startsWith('/api/rest/login_session') && seen.headers.authorization !== service)).to.deep.equal([]);
    // The driver's reads were forwarded with the service's session cookie, never the spoofed one.
    const reads = forwarded('GET', /^\/api\/rest\/(software_installed|cluster)$/);
    expect(reads.filter((seen) => seen.path.startsWith('/api/rest/cluster?'))).to.have.length(TENANTS.length);
    for (const seen of reads) expect(String(seen.headers.cookie)).to.match(/^auth_cookie=/).and.not.include('hellofromkaravi');
  });

  it('runs the CSI block sequence: create, expand, snapshot, clone, attach, detach, delete — charged and freed exactly', async () => {
    const name = unique('block');
    const created = await ok('team-a', { op: 'createVolume', name, sizeBytes: 8 * GIB });
    const id = String(created.id);
    expect(created.size).to.equal(8 * GIB);
    await settled('team-a', 8 * GIB_KIB);

    await ok('team-a', { op: 'expandVolume', id, sizeBytes: 12 * GIB });
    await settled('team-a', 12 * GIB_KIB);
    expect(array.allVolumes.find((volume) => volume.id === id)?.size).to.equal(12 * GIB);
    // gopowerstore's expand body, as it reached the array.
    expect(JSON.parse(forwarded('PATCH', new RegExp(`^/api/rest/volume/${id}$`)).at(-1)!.body)).to.deep.equal({ size: 12 * GIB, protection_policy_id: '', description: '' });

    const snapshot = await ok('team-a', { op: 'snapshot', id, name: unique('snap') });
    await settled('team-a', 24 * GIB_KIB);
    const clone = await ok('team-a', { op: 'cloneVolume', id, name: unique('clone') });
    await settled('team-a', 36 * GIB_KIB);
    const restored = await ok('team-a', { op: 'createFromSnapshot', id: snapshot.id, name: unique('restore') });
    await settled('team-a', 48 * GIB_KIB);

    const attached = await ok('team-a', { op: 'attach', id, host: array.host.name });
    expect(attached.lun).to.be.a('number');
    expect(array.allMappings.map((mapping) => mapping.volume_id)).to.include(id);
    await ok('team-a', { op: 'detach', id, host: array.host.name });
    expect(array.allMappings.map((mapping) => mapping.volume_id)).to.not.include(id);
    await settled('team-a', 48 * GIB_KIB);

    for (const [volume, remaining] of [[restored.id, 36], [clone.id, 24], [snapshot.id, 12], [id, 0]] as const) {
      await ok('team-a', { op: 'deleteVolume', id: volume });
      await settled('team-a', remaining * GIB_KIB);
    }
    expect(array.allVolumes.filter((volume) => volume.name.startsWith('csi-'))).to.deep.equal([]);
    // A second delete of a gone volume is the array's 404, and frees nothing twice.
    const again = await drivers['team-a'].call({ op: 'deleteVolume', id });
    expect(again).to.include({ ok: false, status: 404 });
    await settled('team-a', 0);
  });

  it('runs the CSI NFS sequence: file system create, export, expand, unexport, delete — charged and freed exactly', async () => {
    const name = unique('nfs');
    const created = await ok('team-a', { op: 'createFS', name, sizeBytes: 5 * GIB, nas: array.nasServer.name });
    const id = String(created.id);
    // Charged what the array was asked for: the size plus the driver's reserve.
    const sizeKiB = (5 * GIB + RESERVED_BYTES) / 1024;
    expect(created.sizeTotal).to.equal(5 * GIB + RESERVED_BYTES);
    await settled('team-a', sizeKiB);

    const exported = await ok('team-a', { op: 'export', id, ip: '10.0.0.4' });
    const nfsExport = array.allNfsExports.find((candidate) => candidate.id === exported.exportId);
    expect(nfsExport).to.include({ file_system_id: id, path: `/${name}` });
    expect(nfsExport?.read_write_root_hosts).to.deep.equal(['10.0.0.4']);

    await ok('team-a', { op: 'expandFS', id, sizeBytes: 10 * GIB });
    await settled('team-a', (10 * GIB + RESERVED_BYTES) / 1024);
    expect(array.allFileSystems.find((fs) => fs.id === id)?.size_total).to.equal(10 * GIB + RESERVED_BYTES);

    await ok('team-a', { op: 'unexport', id, ip: '10.0.0.4' });
    expect(array.allNfsExports.find((candidate) => candidate.id === exported.exportId)?.read_write_root_hosts).to.deep.equal([]);
    await ok('team-a', { op: 'deleteFS', id });
    await settled('team-a', 0);
    expect(array.allFileSystems).to.deep.equal([]);
    expect(array.allNfsExports).to.deep.equal([]);
  });

  it('denies a create beyond the quota with 507 in PowerStore shape, before the array', async () => {
    const big = await ok('team-b', { op: 'createVolume', name: unique('big'), sizeBytes: 60 * GIB });
    await settled('team-b', 60 * GIB_KIB);
    const seen = array.requests.length;
    const over = unique('over');
    const denied = await drivers['team-b'].call({ op: 'createVolume', name: over, sizeBytes: 8 * GIB });
    expect(denied).to.include({ ok: false, status: 507 });
    for (const part of ['team-b', '60 GiB', '8 GiB', 'quota 64 GiB']) expect(denied.message).to.include(part);
    expect(mutations(seen)).to.deep.equal([]);
    expect(array.allVolumes.map((volume) => volume.name)).to.not.include(over);
    await settled('team-b', 60 * GIB_KIB);
    await ok('team-b', { op: 'deleteVolume', id: big.id });
    await settled('team-b', 0);
  });

  it("denies another tenant's expand, snapshot, clone, attach, export and delete with 403, before the array", async () => {
    // team-a's objects, made by the driver; their requests as gopowerstore sent them are replayed by team-b.
    const from = array.requests.length;
    const usedBefore = (await confirmed('team-a')).usedKiB;
    const volume = await ok('team-a', { op: 'createVolume', name: unique('owned'), sizeBytes: 8 * GIB });
    // An expansion waits for the create to be confirmed (409 "being created" until the access log arrives).
    await settled('team-a', usedBefore + 8 * GIB_KIB);
    await ok('team-a', { op: 'expandVolume', id: volume.id, sizeBytes: 9 * GIB });
    await ok('team-a', { op: 'snapshot', id: volume.id, name: unique('owned-snap') });
    await ok('team-a', { op: 'cloneVolume', id: volume.id, name: unique('owned-clone') });
    await ok('team-a', { op: 'attach', id: volume.id, host: array.host.name });
    await ok('team-a', { op: 'detach', id: volume.id, host: array.host.name });
    const fs = await ok('team-a', { op: 'createFS', name: unique('owned-fs'), sizeBytes: 3 * GIB, nas: array.nasServer.name });
    await confirmed('team-a');
    await ok('team-a', { op: 'export', id: fs.id, ip: '10.0.0.4' });
    await ok('team-a', { op: 'expandFS', id: fs.id, sizeBytes: 4 * GIB });
    const teamAUsage = await confirmed('team-a');
    const replayable = mutations(from).filter((seen) => !(seen.method === 'POST' && /^\/api\/rest\/(volume|file_system)$/.test(seen.path)));
    expect(replayable.map((seen) => `${seen.method} ${seen.path.replace(/[0-9a-f-]{36}/g, ':id')}`)).to.deep.equal([
      'PATCH /api/rest/volume/:id', 'POST /api/rest/volume/:id/snapshot', 'POST /api/rest/volume/:id/clone',
      'POST /api/rest/host/:id/attach', 'POST /api/rest/host/:id/detach',
      'POST /api/rest/nfs_export', 'PATCH /api/rest/nfs_export/:id', 'PATCH /api/rest/file_system/:id',
    ]);
    const deletes = [{ method: 'DELETE', path: `/api/rest/volume/${String(volume.id)}`, body: '' }, { method: 'DELETE', path: `/api/rest/file_system/${String(fs.id)}`, body: '' }];

    const seen = array.requests.length;
    for (const attempt of [...replayable, ...deletes]) {
      // Bigger than anything team-a asked for, so an expand is not "unchanged".
      const body = attempt.method === 'PATCH' && attempt.path.includes('/volume/') ? JSON.stringify({ ...JSON.parse(attempt.body), size: 10 * GIB }) : attempt.body;
      const reply = await send('team-b', { ...attempt, body });
      expect(reply.status, `${attempt.method} ${attempt.path}`).to.equal(403);
      const [message] = (reply.body as { messages: { code: string; severity: string; message_l10n: string }[] }).messages;
      expect(message).to.include({ severity: 'Error' });
      expect(message!.message_l10n).to.include('not owned by tenant "team-b"');
    }
    // Only the service's own lookups (GET) reached the array: no mutation did, and nothing was charged.
    expect(mutations(seen)).to.deep.equal([]);
    expect(await used('team-b')).to.deep.equal({ usedKiB: 0, reservedKiB: 0 });
    expect(await used('team-a')).to.deep.equal(teamAUsage);
  });

  it('renews the service\'s session when the array would have expired it, without a failed request', async () => {
    const volume = await ok('team-a', { op: 'createVolume', name: unique('idle'), sizeBytes: 8 * GIB });
    const before = (await confirmed('team-a')).usedKiB;
    const logins = array.logins;
    // The service's session goes unused past the array's idle timeout (the array would refuse it now)...
    await waitFor(() => array.longestIdleMs > ARRAY_IDLE_TIMEOUT_MS, 'the service session to outlive the array idle timeout', 3 * ARRAY_IDLE_TIMEOUT_MS, 100);
    // ...and the next driver call, a mutation, goes through on a fresh session.
    await ok('team-a', { op: 'expandVolume', id: volume.id, sizeBytes: 16 * GIB });
    await settled('team-a', before + 8 * GIB_KIB);
    expect(array.logins).to.equal(logins + 1);
    // No request anywhere was refused for its session or CSRF token.
    expect(array.refused).to.deep.equal([]);
  });
});
