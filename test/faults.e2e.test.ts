// Exact quota under concurrency and faults (issue 10), as a storage admin would try it: two
// `storage-authz serve` processes behind one real edge Envoy, one Redis with an append-only file,
// a fake PowerFlex gateway behind a fault-injecting front, and CSI-like clients that retry a create
// with the same name on 5xx or timeout (and take "name already in use" on a retry as success).
// Scenarios: concurrent duplicate creates with no fault; array faults (500, created-then-hung past
// Envoy's route timeout, hung-then-created, slow); Redis SIGKILL and restart; one replica SIGKILL and
// restart; and the array faults once more against PowerMax (issue 13: fake Unisphere, creates in
// whole cylinders, soft delete by rename). After the clients finish, the resolver and one reconciliation pass are run explicitly
// (no sleeps), and for every tenant: capacity on the array ≤ quota whenever the service allowed a
// create, ledger == array volume by volume, every volume charged once, every volume deletable.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { createAdapters, type Adapters } from '../src/arrays/registry.js';
import { PowerFlexDriver, type Reply } from '../src/demo/driver.js';
import { createWorkspace, SIGNING_KEY_ID, type Workspace } from '../src/demo/workspace.js';
import { AUTHZ_CLUSTER, renderEdgeConfig } from '../src/envoy/edge.js';
import { FaultInjectingFront, POWERFLEX_CREATES, UNISPHERE_CREATES, type CreateFault } from '../src/fakes/faults.js';
import { CYLINDER_KIB, DEFAULT_STORAGE_GROUPS, FakeUnisphere } from '../src/fakes/powermax/unisphere.js';
import { startStack, type Stack } from '../src/demo/stack.js';
import { FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { freePort, waitForPort } from '../src/harness/ports.js';
import { start, waitForOutput, type Started } from '../src/harness/process.js';
import { envoyBin, repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import type { EnvoyObject } from '../src/envoy/parts.js';
import { resolvePending } from '../src/pipeline/confirm/confirm.js';
import { findOnArray } from '../src/pipeline/confirm/settle.js';
import { createReconciler } from '../src/reconcile/reconcile.js';
import { DirectoryResources } from '../src/resources/directory.js';
import { silentLogger } from '../src/telemetry/log.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { startRedis, startSentinelGroup, type RunningRedis, type SentinelGroup } from './support/redis.js';

const BRONZE = { id: '3df6b86600000000', name: 'bronze' };
const QUOTA_GIB = 64;
const QUOTA_KIB = QUOTA_GIB * GIB_IN_KIB;
const VOLUME_KIB = 8 * GIB_IN_KIB;
/** Short, so that hung requests end quickly; the resolver waits longer than it (serve refuses less). */
const ROUTE_TIMEOUT_MS = 1500;
const PENDING_AFTER_MS = 2000;
const TENANTS = ['ta', 'tb', 'tc', 'td'] as const;
type TenantName = (typeof TENANTS)[number];

interface ScenarioReport {
  scenario: string;
  requests: number;
  allowed: number;
  denied: Record<string, number>;
  violations: string[];
  recoverMs?: number;
}

/** A crash, as far as anyone can tell: SIGKILL, and the process has exited. */
async function sigkill(process: Started): Promise<void> {
  const exited = new Promise((resolve) => process.child.once('exit', resolve));
  process.child.kill('SIGKILL');
  await exited;
}

/** Settles everything left: clients done, late creates done, then the resolver and one reconciliation pass. */
async function settleEverything(front: FaultInjectingFront, ledger: RedisLedger, resources: DirectoryResources, adapters: Adapters): Promise<number> {
  const began = Date.now();
  await front.idle();
  // The test's own client of the store reconnects by itself after an outage.
  await waitFor(() => ledger.pending(0).then(() => true, () => false), 'the quota store to answer the test', 30_000, 50);
  // Let every access-log entry in flight arrive first (each replica applies its stream in order).
  await waitFor(async () => (await ledger.pending(0)).every((hold) => Date.now() - hold.since >= PENDING_AFTER_MS) || (await ledger.pending(0)).length === 0,
    'every unsettled hold to be older than --pending-after-ms', 30_000, 50);
  await resolvePending({ ledger, find: findOnArray(resources, adapters.registry), olderThanMs: PENDING_AFTER_MS, intervalMs: 1 });
  await createReconciler({ ledger, resources, adapters: adapters.registry, mode: 'repair', settleAfterMs: PENDING_AFTER_MS, tickMs: 3_600_000 }).runOnce();
  return Date.now() - began;
}

const HANGS: readonly CreateFault[] = ['create-then-hang', 'hang-then-create'];

/**
 * One create per planned name (`faults` gets its plan). Those whose first attempt hangs start first,
 * the others once the array holds one create of each hang: started all at once, the quota can go to
 * the others on a loaded machine, every create that carries a hang is then denied 507 before it
 * reaches the array, and no hang is exercised at all.
 */
async function createPlanned<T>(front: FaultInjectingFront, faults: Map<string, CreateFault[]>, planned: [string, CreateFault[]][], create: (name: string) => Promise<T>): Promise<T[]> {
  const before = HANGS.map((fault) => front.injected[fault]);
  for (const [name, plan] of planned) faults.set(name, [...plan]);
  const hangsFirst = ([, plan]: [string, CreateFault[]]) => HANGS.includes(plan[0] ?? 'none');
  const first = Promise.all(planned.filter(hangsFirst).map(([name]) => create(name)));
  await waitFor(() => HANGS.every((fault, i) => front.injected[fault] > before[i]!), 'a create of each hang at the array', 30_000, 5);
  const rest = Promise.all(planned.filter((entry) => !hangsFirst(entry)).map(([name]) => create(name)));
  return [...(await first), ...(await rest)];
}

/** The quota store under test: one Redis with an append-only file, or Sentinel (1 primary, 2 replicas, 3 sentinels). */
type Store = 'aof' | 'sentinel';
const DOWN_AFTER_MS = 1000;

function faultSuite(store: Store, title: string): void {
describe(title, function () {
  this.timeout(180_000);
  let gateway: FakePowerFlexGateway;
  let front: FaultInjectingFront;
  let aofDir: string;
  let redis: RunningRedis;
  let redisPort: number;
  let group: SentinelGroup | undefined;
  let workspace: Workspace;
  let envoy: Started | undefined;
  let envoyAdminPort: number;
  let edgeUrl: string;
  const replicas: { port: number; process?: Started }[] = [];
  let ledger: RedisLedger;
  let resources: DirectoryResources;
  let adapters: Adapters;
  const drivers = new Map<TenantName, PowerFlexDriver>();
  /** Per volume name, the faults its next create attempts get (then none). */
  const faults = new Map<string, CreateFault[]>();
  const reports: ScenarioReport[] = [];
  let current: ScenarioReport;

  const scenario = (name: string): ScenarioReport => {
    current = { scenario: name, requests: 0, allowed: 0, denied: {}, violations: [] };
    reports.push(current);
    return current;
  };

  /** The tenant's capacity on the array now: its volumes carry its prefix. */
  const onArrayKiB = (tenant: TenantName) => gateway.volumes.filter((v) => v.name.startsWith(`${tenant}-`)).reduce((sum, v) => sum + v.sizeInKb, 0);

  async function send(tenant: TenantName, call: (driver: PowerFlexDriver) => Promise<Reply>): Promise<Reply> {
    current.requests += 1;
    const reply = await call(drivers.get(tenant)!).catch((error: unknown) => ({ status: 0, body: String(error), headers: {} }));
    if (reply.status === 200) current.allowed += 1;
    else current.denied[String(reply.status)] = (current.denied[String(reply.status)] ?? 0) + 1;
    if (reply.status === 200 && onArrayKiB(tenant) > QUOTA_KIB) {
      current.violations.push(`${tenant}: ${onArrayKiB(tenant)} KiB on the array above the quota after an allowed request`);
    }
    return reply;
  }

  /**
   * A call as the CSI driver makes it: retried on 5xx, 504, 503 or a reset until `done` says what the
   * answer means, for at most a minute. Like the driver's own back-off, a retry after the service
   * answered "unavailable" waits a little, so an outage is not a busy loop.
   */
  async function csiRetry<T>(tenant: TenantName, what: string, call: (driver: PowerFlexDriver) => Promise<Reply>, done: (reply: Reply, message: string, retried: boolean) => T | undefined): Promise<T> {
    const deadline = Date.now() + 60_000;
    for (let retried = false; Date.now() < deadline; retried = true) {
      const reply = await send(tenant, call);
      const message = (reply.body as { message?: string } | undefined)?.message ?? '';
      const result = done(reply, message, retried);
      if (result !== undefined) return result;
      if (reply.status !== 0 && reply.status < 500) throw new Error(`${what}: ${reply.status} ${message}`);
      if (reply.status === 503 || reply.status === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${what} never succeeded`);
  }

  /** A create: "name already in use" on a retry means an earlier attempt created it. */
  const csiCreate = (tenant: TenantName, name: string): Promise<'created' | 'denied'> =>
    csiRetry(tenant, `create ${name}`, (driver) => driver.createVolume(name, BRONZE.id, VOLUME_KIB), (reply, message, retried) =>
      reply.status === 200 || (retried && /already in use/.test(message)) ? 'created' : reply.status === 507 ? 'denied' : undefined,
    );

  /** A delete: "not found" on a retry means an earlier attempt deleted it. */
  const csiDelete = (tenant: TenantName, id: string): Promise<void> =>
    csiRetry(tenant, `delete ${id}`, (driver) => driver.deleteVolume(id), (reply, message, retried) =>
      reply.status === 200 || (retried && /Could not find the volume/.test(message)) ? true : undefined,
    ).then(() => undefined);

  const storeFlags = (): string[] =>
    group
      ? ['--redis-sentinels', group.sentinels.map(({ host, port }) => `${host}:${port}`).join(','), '--redis-sentinel-name', group.name]
      : ['--redis-url', `redis://127.0.0.1:${redisPort}`];

  async function startReplica(index: number): Promise<void> {
    const replica = replicas[index]!;
    const process = start(globalThis.process.execPath, [
      '--import', 'tsx', path.join(repoRoot, 'src/main.ts'), 'serve',
      '--listen', `127.0.0.1:${replica.port}`,
      '--resources-dir', workspace.resourcesDir, '--secrets-dir', workspace.secretsDir,
      '--signing-keys-dir', workspace.keysDir, '--default-kid', SIGNING_KEY_ID,
      ...storeFlags(), '--array-ca-file', workspace.arrayCaFile,
      '--route-timeout-ms', String(ROUTE_TIMEOUT_MS), '--pending-after-ms', String(PENDING_AFTER_MS),
      // The test runs the resolver and reconciliation itself, so nothing settles behind its back.
      '--resolve-interval-ms', '3600000', '--reconcile', 'off', '--drain-ms', '500',
    ], { cwd: repoRoot, env: { ...globalThis.process.env, LOG_LEVEL: 'info' } });
    replica.process = process;
    await waitForOutput(process, /storage-authz serving/, 60_000);
    await waitForHost(replica.port, true);
  }

  /** Envoy's health checking has seen this replica (un)healthy. */
  async function waitForHost(port: number, healthy: boolean): Promise<void> {
    const line = new RegExp(`^${AUTHZ_CLUSTER}::127\\.0\\.0\\.1:${port}::health_flags::healthy$`, 'm');
    await waitFor(async () => {
      const page = await request(`http://127.0.0.1:${envoyAdminPort}/clusters`).then((r) => r.body.text(), () => '');
      return line.test(page) === healthy;
    }, `replica ${port} ${healthy ? 'healthy' : 'unhealthy'} in Envoy`, 30_000, 50);
  }

  const settle = () => settleEverything(front, ledger, resources, adapters);

  /** Ledger == array, volume by volume, every volume charged once; then every volume deleted by its tenant. */
  async function checkAndClean(tenants: readonly TenantName[]): Promise<void> {
    const rows = await ledger.volumes();
    for (const tenant of tenants) {
      const onArray = gateway.volumes.filter((v) => v.name.startsWith(`${tenant}-`));
      const charged = rows.filter((row) => row.tenant === tenant);
      const unsettled = charged.filter((row) => row.state !== 'committed');
      if (unsettled.length > 0) current.violations.push(`${tenant}: unsettled ${unsettled.map((r) => `${r.volume}:${r.state}`).join(',')}`);
      const arrayView = onArray.map((v) => `${v.name}=${v.sizeInKb}`).sort();
      const ledgerView = charged.map((r) => `${r.volume}=${r.sizeKiB}`).sort();
      if (JSON.stringify(arrayView) !== JSON.stringify(ledgerView)) current.violations.push(`${tenant}: ledger ${ledgerView.join(',')} != array ${arrayView.join(',')}`);
      for (const volume of onArray) {
        const holders = await ledger.holders('powerflex', gateway.systemId, volume.name);
        if (holders.length !== 1) current.violations.push(`${volume.name} charged ${holders.length} times`);
      }
      if (onArrayKiB(tenant) > QUOTA_KIB) current.violations.push(`${tenant}: ${onArrayKiB(tenant)} KiB on the array, quota ${QUOTA_KIB}`);
      await Promise.all(onArray.map((volume) => csiDelete(tenant, volume.id)));
    }
    await settle();
    for (const tenant of tenants) {
      const left = gateway.volumes.filter((v) => v.name.startsWith(`${tenant}-`));
      if (left.length > 0) current.violations.push(`${tenant}: could not delete ${left.map((v) => v.name).join(',')}`);
      const usage = (await ledger.usage(tenant)).reduce((sum, row) => sum + row.usedKiB + row.reservedKiB, 0);
      if (usage !== 0) current.violations.push(`${tenant}: ${usage} KiB still charged after deleting everything`);
    }
  }

  before(async function () {
    gateway = await FakePowerFlexGateway.start();
    front = await FaultInjectingFront.start(gateway, POWERFLEX_CREATES, { createFault: (name) => faults.get(name)?.shift() ?? 'none', slowMs: 300 });
    if (store === 'aof') {
      aofDir = mkdtempSync(path.join(tmpdir(), 'faults-redis-'));
      redis = await startRedis({ aofDir });
      redisPort = redis.port;
      ledger = await RedisLedger.connect({ url: redis.url });
    } else {
      group = await startSentinelGroup({ replicas: 2, sentinels: 3, downAfterMs: DOWN_AFTER_MS });
      ledger = await RedisLedger.connect({ sentinels: group.sentinels.map(({ host, port }) => ({ host, port })), name: group.name });
    }
    workspace = await createWorkspace({
      array: { endpoint: front.url, systemId: gateway.systemId, ca: front.ca, username: 'admin', password: 'Password123!' },
      pool: BRONZE.name,
      quotaGiB: QUOTA_GIB,
      tenants: TENANTS.map((name) => ({ name, approveSdc: false, volumePrefix: name })),
      pollInterval: '0',
    });
    resources = await DirectoryResources.open(workspace.resourcesDir, { secretsDir: workspace.secretsDir, logger: silentLogger });
    adapters = createAdapters({ ca: front.ca });

    for (let i = 0; i < 2; i++) replicas.push({ port: await freePort() });
    const [edgePort, adminPort] = [await freePort(), await freePort()];
    envoyAdminPort = adminPort;
    const config = renderEdgeConfig({
      listen: { address: '127.0.0.1', port: edgePort },
      tls: { certFile: workspace.edgeCertFile, keyFile: workspace.edgeKeyFile },
      authz: { address: `127.0.0.1:${replicas[0]!.port}` },
      envoyAdmin: { address: '127.0.0.1', port: adminPort },
      storage: [...resources.current().storage.values()],
      caFile: workspace.arrayCaFile,
      authzTimeoutMs: 5000,
      routeTimeoutMs: ROUTE_TIMEOUT_MS,
    });
    // Both replicas behind the one authz cluster (Checks and the access-log stream are balanced over them).
    const authz = (config.static_resources as { clusters: EnvoyObject[] }).clusters.find((c) => c.name === AUTHZ_CLUSTER)!;
    const endpoints = (authz.load_assignment as { endpoints: { lb_endpoints: EnvoyObject[] }[] }).endpoints[0]!.lb_endpoints;
    endpoints.push({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: replicas[1]!.port } } } });
    const configFile = path.join(workspace.dir, 'edge-envoy.json');
    await writeFile(configFile, JSON.stringify(config));
    envoy = start(envoyBin, ['-c', configFile, '--use-dynamic-base-id', '--log-level', 'warn']);
    await waitForPort(edgePort);
    edgeUrl = `https://127.0.0.1:${edgePort}`;
    await Promise.all([startReplica(0), startReplica(1)]);
    for (const tenant of TENANTS) {
      const { access } = await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: tenant, roles: [workspace.roleName], accessTtlSeconds: 3600, refreshTtlSeconds: 7200 });
      drivers.set(tenant, new PowerFlexDriver({ edgeUrl, edgeCa: workspace.edgeCa, accessToken: access, systemId: gateway.systemId, arrayEndpoint: front.url }));
    }
  });

  after(async () => {
    console.log(`\n      ${store === 'aof' ? 'Redis with AOF' : 'Redis Sentinel'}`);
    console.log('      scenario                         requests  allowed  denied by status              violations  recover');
    for (const r of reports) {
      const denied = Object.entries(r.denied).map(([status, n]) => `${status}:${n}`).join(' ') || '-';
      console.log(`      ${r.scenario.padEnd(32)} ${String(r.requests).padStart(8)} ${String(r.allowed).padStart(8)}  ${denied.padEnd(28)} ${String(r.violations.length).padStart(10)}  ${r.recoverMs === undefined ? '-' : `${r.recoverMs} ms`}`);
    }
    await Promise.all([...drivers.values()].map((driver) => driver.close()));
    await Promise.all(replicas.map((replica) => replica.process?.stop()));
    await envoy?.stop();
    await adapters?.close();
    resources?.close();
    await ledger?.close();
    await redis?.stop();
    await group?.stop();
    await front?.stop();
    await gateway?.stop();
    await workspace?.remove();
    if (aofDir) rmSync(aofDir, { recursive: true, force: true });
  });

  if (store === 'aof') it('concurrent duplicate creates with no fault: 0 uncharged volumes in 1,000 pairs', async () => {
    scenario('1,000 duplicate pairs');
    const batch = QUOTA_GIB / 8;
    let uncharged = 0;
    for (let first = 0; first < 1000; first += batch) {
      const names = Array.from({ length: batch }, (_, i) => `td-dup-${first + i}`);
      await Promise.all(names.flatMap((name) => [csiCreate('td', name), csiCreate('td', name)]));
      await waitFor(async () => (await ledger.pending(0)).length === 0, 'both answers of every pair to settle the hold', 20_000, 10);
      const committed = new Set((await ledger.volumes('td')).filter((row) => row.state === 'committed').map((row) => row.volume));
      const created = gateway.volumes.filter((v) => v.name.startsWith('td-'));
      uncharged += created.filter((v) => !committed.has(v.name)).length;
      await Promise.all(created.map((v) => csiDelete('td', v.id)));
      await waitFor(async () => (await ledger.usage('td')).every((row) => row.usedKiB === 0 && row.reservedKiB === 0), 'the deletes to free the batch', 20_000, 10);
    }
    if (uncharged > 0) current.violations.push(`${uncharged} uncharged volumes`);
    expect(current.violations).to.deep.equal([]);
    expect(uncharged).to.equal(0);
  });

  if (store === 'aof') it('array faults: 500, created then hung past the route timeout, hung then created, slow; CSI retries', async () => {
    scenario('array faults');
    const plans: Record<TenantName, CreateFault[][]> = {
      ta: [['fail'], ['create-then-hang'], ['hang-then-create'], ['slow'], ['fail', 'create-then-hang'], [], ['hang-then-create', 'fail'], ['slow', 'slow'], [], []],
      tb: [['create-then-hang', 'create-then-hang'], ['hang-then-create'], ['fail', 'fail'], [], ['slow'], [], ['create-then-hang'], [], [], []],
      tc: [['hang-then-create'], ['hang-then-create'], ['create-then-hang'], ['fail'], [], ['slow'], [], [], [], []],
      td: [],
    };
    const tenants = ['ta', 'tb', 'tc'] as const;
    const results = await createPlanned(front, faults, tenants.flatMap((tenant) => plans[tenant].map((plan, i): [string, CreateFault[]] => [`${tenant}-fault-${i}`, plan])),
      (name) => csiCreate(name.slice(0, 2) as TenantName, name));
    // Each tenant asked for 10 × 8 GiB against a 64 GiB quota: some denied 507, never more than the quota.
    expect(results.filter((r) => r === 'denied').length).to.be.greaterThan(0);
    current.recoverMs = await settle();
    await checkAndClean(['ta', 'tb', 'tc']);
    expect(front.injected['create-then-hang']).to.be.greaterThan(0);
    expect(front.injected['hang-then-create']).to.be.greaterThan(0);
    expect(current.violations).to.deep.equal([]);
  });

  /** Creates `count` volumes before the fault (to delete during it), then creates in flight at the array when it strikes. */
  async function duringFault(tenant: TenantName, label: string, strike: () => Promise<void>, heal: () => Promise<void>): Promise<void> {
    const before = Array.from({ length: 2 }, (_, i) => `${tenant}-${label}-pre-${i}`);
    for (const name of before) await csiCreate(tenant, name);
    const names = Array.from({ length: 4 }, (_, i) => `${tenant}-${label}-${i}`);
    for (const name of names) faults.set(name, ['slow']);
    const slowBefore = front.injected.slow;
    const creates = Promise.all(names.map((name) => csiCreate(tenant, name)));
    await waitFor(() => front.injected.slow > slowBefore, 'a create to be in flight at the array', 20_000, 5);
    const struckAt = Date.now();
    await strike();
    const ids = gateway.volumes.filter((v) => before.includes(v.name)).map((v) => v.id);
    const deletes = Promise.all(ids.map((id) => csiDelete(tenant, id)));
    const deniedBefore = current.denied['503'] ?? 0;
    await waitFor(() => (current.denied['503'] ?? 0) > deniedBefore, 'a decision to meet the fault (503)', 30_000, 5);
    await heal();
    // Recovered: a new create succeeds again.
    await csiCreate(tenant, `${tenant}-${label}-after`);
    current.recoverMs = Date.now() - struckAt;
    await Promise.all([creates, deletes]);
    await settle();
    await checkAndClean([tenant]);
    expect(current.violations).to.deep.equal([]);
  }

  if (store === 'aof') it('Redis SIGKILL and restart (AOF) during creates and deletes', async () => {
    scenario('Redis SIGKILL + restart');
    await duringFault('ta', 'redis', () => sigkill(redis.process), async () => {
      redis = await startRedis({ port: redisPort, aofDir });
    });
  });

  if (store === 'sentinel') it('primary SIGSTOP during creates and deletes: writes resume on the promoted replica', async () => {
    scenario('primary SIGSTOP (Sentinel)');
    const frozen = group!.master.process.child;
    try {
      await duringFault('tc', 'sigstop', async () => {
        frozen.kill('SIGSTOP');
      }, () => group!.waitForFailover());
      // Goal: the write outage ≤ 2 × down-after-milliseconds + the failover itself.
      expect(current.recoverMs).to.be.at.most(2 * DOWN_AFTER_MS + 10_000);
    } finally {
      frozen.kill('SIGCONT');
    }
  });

  if (store === 'aof') it('one serve replica SIGKILLed and restarted while creates run', async () => {
    scenario('replica SIGKILL + restart');
    const names = Array.from({ length: 6 }, (_, i) => `tb-replica-${i}`);
    for (const name of names) faults.set(name, ['slow']);
    const creates = Promise.all(names.map((name) => csiCreate('tb', name)));
    await waitFor(() => front.injected.slow > 0, 'a create to be in flight', 20_000, 5);
    const killedAt = Date.now();
    await sigkill(replicas[0]!.process!);
    await waitForHost(replicas[0]!.port, false);
    await creates;
    await startReplica(0);
    current.recoverMs = Date.now() - killedAt;
    await settle();
    await checkAndClean(['tb']);
    expect(current.violations).to.deep.equal([]);
  });
});
}

faultSuite('aof', 'quota under concurrency and faults: two serve replicas, one edge Envoy, Redis with AOF');
faultSuite('sentinel', 'quota under faults with Sentinel: two serve replicas, one edge Envoy, 1 primary, 2 replicas, 3 sentinels');

/**
 * The same array faults against PowerMax (issue 13): one `serve` behind the edge Envoy, Redis, the fake
 * Unisphere behind the fault front. Creates are the driver's storage-group edits with
 * `addVolumeParam` in GB (charged in whole cylinders); a CSI retry first looks the volume up by its
 * identifier, as csi-powermax does (Unisphere allows two volumes of one identifier, so the driver's
 * idempotency is that lookup), and only after the array is done with the earlier attempt (the
 * driver's back-off outlasts the array's late execution; else a real array gets a second volume too).
 */
describe('quota under array faults on PowerMax: one serve, one edge Envoy, Redis, fake Unisphere behind the fault front', function () {
  this.timeout(180_000);
  const SRP = 'SRP_1';
  const SG = DEFAULT_STORAGE_GROUPS[0]!.storageGroupId;
  const PMAX_TENANTS = ['pa', 'pb'] as const;
  type PmaxTenant = (typeof PMAX_TENANTS)[number];
  const PMAX_QUOTA_KIB = 10 * GIB_IN_KIB;
  /** 2 GB in cylinders of 1,920 KiB, rounded up: what each create is charged. */
  const VOLUME_CYL = Math.ceil((2 * GIB_IN_KIB) / CYLINDER_KIB);
  let unisphere: FakeUnisphere;
  let front: FaultInjectingFront;
  let redis: RunningRedis;
  let ledger: RedisLedger;
  let workspace: Workspace;
  let stack: Stack;
  let resources: DirectoryResources;
  let adapters: Adapters;
  let tls: Agent;
  const tokens = new Map<PmaxTenant, string>();
  const faults = new Map<string, CreateFault[]>();
  const violations: string[] = [];

  before(async () => {
    unisphere = await FakeUnisphere.start();
    front = await FaultInjectingFront.start(unisphere, UNISPHERE_CREATES, { createFault: (name) => faults.get(name)?.shift() ?? 'none', slowMs: 300 });
    redis = await startRedis();
    ledger = await RedisLedger.connect({ url: redis.url });
    workspace = await createWorkspace({
      systemType: 'powermax',
      array: { endpoint: front.url, systemId: unisphere.symmetrixId, ca: front.ca, username: unisphere.username, password: unisphere.password },
      pool: SRP, quotaGiB: PMAX_QUOTA_KIB / GIB_IN_KIB, tenants: PMAX_TENANTS.map((name) => ({ name, approveSdc: false })), pollInterval: '0',
    });
    stack = await startStack({ workspace, redisUrl: redis.url, routeTimeoutMs: ROUTE_TIMEOUT_MS, pendingAfterMs: PENDING_AFTER_MS });
    resources = await DirectoryResources.open(workspace.resourcesDir, { secretsDir: workspace.secretsDir, logger: silentLogger });
    adapters = createAdapters({ ca: front.ca });
    tls = new Agent({ connect: { ca: workspace.edgeCa } });
    for (const tenant of PMAX_TENANTS) {
      const { access } = await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: tenant, roles: [workspace.roleName], accessTtlSeconds: 3600, refreshTtlSeconds: 7200 });
      tokens.set(tenant, access);
    }
  });

  after(async () => {
    await tls?.close();
    await stack?.stop();
    await adapters?.close();
    resources?.close();
    await ledger?.close();
    await redis?.stop();
    await front?.stop();
    await unisphere?.stop();
    await workspace?.remove();
  });

  const slo = () => `/univmax/restapi/100/sloprovisioning/symmetrix/${unisphere.symmetrixId}`;

  /** A request as the tenant's sidecar forwards gopowermax's: the tenant's token, the Forwarded pair. */
  async function send(tenant: PmaxTenant, method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await request(`${stack.edgeUrl}${apiPath}`, {
      method: method as 'GET',
      dispatcher: tls,
      headers: {
        authorization: `Bearer ${tokens.get(tenant)!}`,
        forwarded: [`for=csm-authorization;${front.url};${unisphere.symmetrixId}`, 'by=csm-authorization;powermax'],
        accept: 'application/json;version=100',
        ...(body === undefined ? {} : { 'content-type': 'application/json;version=100' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).catch((error: unknown) => ({ statusCode: 0, body: { text: async () => String(error) } }));
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: response.statusCode, body: parsed };
  }

  const onArray = (tenant: PmaxTenant) => unisphere.volumes.filter((volume) => volume.volume_identifier.startsWith(`${tenant}-`));
  const onArrayKiB = (tenant: PmaxTenant) => onArray(tenant).reduce((sum, volume) => sum + volume.cap_cyl * CYLINDER_KIB, 0);

  /** CreateVolume as csi-powermax makes it, retried on 5xx / reset: 'created' or 'denied' (507). */
  async function csiCreate(tenant: PmaxTenant, name: string): Promise<'created' | 'denied'> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const existing = await send(tenant, 'GET', `${slo()}/volume?volume_identifier=${name}`);
      if (existing.status === 200 && ((existing.body as { count?: number }).count ?? 0) > 0) return 'created';
      const reply = await send(tenant, 'PUT', `${slo()}/storagegroup/${SG}`, {
        editStorageGroupActionParam: { expandStorageGroupParam: { addVolumeParam: {
          create_new_volumes: true, emulation: 'FBA', enable_mobility_id: false, remoteSymmSGInfoParam: { force: true },
          volumeAttributes: [{ capacityUnit: 'GB', num_of_vols: 1, volume_size: '2', volumeIdentifier: { identifier_name: name, volumeIdentifierChoice: 'identifier_name' } }],
        } } },
        executionOption: 'SYNCHRONOUS',
      });
      if (reply.status === 200) {
        if (onArrayKiB(tenant) > PMAX_QUOTA_KIB) violations.push(`${tenant}: ${onArrayKiB(tenant)} KiB on the array above the quota after an allowed create`);
        return 'created';
      }
      if (reply.status === 507) return 'denied';
      if (reply.status !== 0 && reply.status < 500) throw new Error(`create ${name}: ${reply.status} ${JSON.stringify(reply.body)}`);
      await front.idle();
    }
    throw new Error(`create ${name} never succeeded`);
  }

  it('500, created then hung past the route timeout, hung then created, slow: ledger == array, never over quota, every volume freed by its soft delete', async () => {
    const plans: Record<PmaxTenant, CreateFault[][]> = {
      pa: [['fail'], ['create-then-hang'], ['hang-then-create'], ['slow'], ['fail', 'create-then-hang'], [], []],
      pb: [['create-then-hang', 'create-then-hang'], ['hang-then-create'], ['fail', 'fail'], ['slow'], [], [], []],
    };
    const results = await createPlanned(front, faults, PMAX_TENANTS.flatMap((tenant) => plans[tenant].map((plan, i): [string, CreateFault[]] => [`${tenant}-fault-${i}`, plan])),
      (name) => csiCreate(name.slice(0, 2) as PmaxTenant, name));
    // 7 × 2 GB (1,093 cylinders each) against a 10 GiB quota: 4 fit, the rest are denied 507.
    expect(results.filter((result) => result === 'denied')).to.have.length(2 * (7 - 4));
    await settleEverything(front, ledger, resources, adapters);
    expect(front.injected['create-then-hang']).to.be.greaterThan(0);
    expect(front.injected['hang-then-create']).to.be.greaterThan(0);

    const rows = await ledger.volumes();
    for (const tenant of PMAX_TENANTS) {
      const arrayView = onArray(tenant).map((volume) => `${volume.volume_identifier}=${volume.cap_cyl * CYLINDER_KIB}`).sort();
      const ledgerView = rows.filter((row) => row.tenant === tenant).map((row) => `${row.volume}=${row.sizeKiB}:${row.state}`).sort();
      expect(ledgerView, tenant).to.deep.equal(arrayView.map((entry) => `${entry}:committed`));
      expect(onArray(tenant).every((volume) => volume.cap_cyl === VOLUME_CYL)).to.equal(true);
      // The driver's delete: the soft-delete rename to _DEL<name>, freed when the array confirms it.
      for (const volume of onArray(tenant)) {
        const renamed = await send(tenant, 'PUT', `${slo()}/volume/${volume.volumeId}`, {
          editVolumeActionParam: { modifyVolumeIdentifierParam: { volumeIdentifier: { identifier_name: `_DEL${volume.volume_identifier}`, volumeIdentifierChoice: 'identifier_name' } } },
          executionOption: 'SYNCHRONOUS',
        });
        expect(renamed.status, JSON.stringify(renamed.body)).to.equal(200);
      }
    }
    await settleEverything(front, ledger, resources, adapters);
    for (const tenant of PMAX_TENANTS) {
      const usage = (await ledger.usage(tenant)).reduce((sum, row) => sum + row.usedKiB + row.reservedKiB, 0);
      expect(usage, `${tenant} charged after deleting everything`).to.equal(0);
    }
    expect(violations).to.deep.equal([]);
  });
});
