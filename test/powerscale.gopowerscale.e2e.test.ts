// PowerScale as the real CSI driver's client makes it (issue 15): Dell's gopowerscale v1.21.0
// (test/gopowerscale-driver, the library csi-powerscale imports) makes the controller's calls → the
// real tenant sidecar and its Envoy → the real edge Envoy → the decision service (Redis ledger) →
// the fake OneFS. gopowerscale logs in (session auth), builds every path, header and body; nothing
// here shapes a request by hand.
import { expect } from 'chai';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { FakeOneFs, GIB } from '../src/fakes/powerscale/onefs.js';
import { waitFor } from '../src/harness/wait.js';
import { GoDriver, goDriverBin, type DriverResult } from './support/goDriver.js';
import { startPowerScaleChain, type PowerScaleChain } from './support/powerscaleChain.js';

const ISI_PATH = '/ifs/data/csi';
const ZONE = 'System';
const GIB_KIB = 1024 * 1024;
/** What a directory itself is charged: the ledger's least (its quota is charged apart). */
const DIRECTORY_KIB = 1;
const TENANTS = ['team-a', 'team-b'] as const;
type TenantName = (typeof TENANTS)[number];

describe('PowerScale driven by gopowerscale v1.21.0 through sidecar → edge → service → fake OneFS (real Envoy, Redis)', function () {
  this.timeout(180_000);

  let chain: PowerScaleChain<TenantName>;
  let array: FakeOneFs;
  let ledger: RedisLedger;
  const drivers = {} as Record<TenantName, GoDriver>;

  before(async () => {
    chain = await startPowerScaleChain({ isiPath: ISI_PATH, quotaGiB: 8, tenants: TENANTS });
    ({ array, ledger } = chain);
    const bin = goDriverBin('gopowerscale-driver');
    for (const tenant of TENANTS) drivers[tenant] = new GoDriver(bin);
  });

  after(async () => {
    await Promise.all(Object.values(drivers).map((driver) => driver.close()));
    await chain?.stop();
  });

  const call = (tenant: TenantName, command: Record<string, unknown>): Promise<DriverResult> =>
    drivers[tenant].call({ isiPath: ISI_PATH, zone: ZONE, ...command });

  async function ok(tenant: TenantName, command: Record<string, unknown>): Promise<DriverResult> {
    const result = await call(tenant, command);
    expect(result, JSON.stringify(result)).to.include({ ok: true });
    return result;
  }

  async function settled(tenant: TenantName, usedKiB: number): Promise<void> {
    await waitFor(async () => {
      const row = (await ledger.usage(tenant)).find((candidate) => candidate.pool === ISI_PATH);
      return (row?.reservedKiB ?? 0) === 0 && (row?.usedKiB ?? 0) === usedKiB;
    }, `usage of ${tenant} to settle at ${usedKiB} KiB`, 15_000);
  }

  /** CreateVolume as csi-powerscale makes it: existence checks, directory, quota, export. */
  async function provision(tenant: TenantName, name: string, hardBytes: number): Promise<{ quotaId: string; exportId: number }> {
    expect(await ok(tenant, { op: 'exists', name })).to.include({ exists: false, exported: false });
    await ok(tenant, { op: 'create-dir', name });
    expect(await ok(tenant, { op: 'license' })).to.include({ licensed: true });
    const quotaId = String((await ok(tenant, { op: 'create-quota', name, size: hardBytes })).quotaId);
    const exportId = Number((await ok(tenant, { op: 'export', name, quotaId })).exportId);
    expect(await ok(tenant, { op: 'get-export', exportId })).to.deep.include({ paths: [`${ISI_PATH}/${name}`], description: `CSI_QUOTA_ID:${quotaId}` });
    return { quotaId, exportId };
  }

  it('runs the controller sequence: directory, quota (charged its hard threshold), export, publish, expand and lower, snapshot, delete of all three (freed)', async () => {
    for (const tenant of TENANTS) {
      expect(await ok(tenant, { op: 'connect', endpoint: chain.endpoint(tenant), username: 'placeholder', password: 'placeholder' })).to.include({ name: array.clusterName });
    }
    const name = 'k8s-go-a1';
    const { quotaId, exportId } = await provision('team-a', name, 2 * GIB);
    await settled('team-a', 2 * GIB_KIB + DIRECTORY_KIB);
    // ControllerPublish adds the node to the export's clients.
    await ok('team-a', { op: 'add-clients', exportId, clients: ['10.0.0.5'] });
    expect(array.allExports.find((found) => found.id === exportId)!.clients).to.deep.equal(['10.0.0.5']);

    expect(await ok('team-a', { op: 'get-quota', quotaId })).to.include({ path: `${ISI_PATH}/${name}`, hard: 2 * GIB });
    await ok('team-a', { op: 'update-quota', quotaId, size: 3 * GIB });
    await settled('team-a', 3 * GIB_KIB + DIRECTORY_KIB);
    // Lowered back (the directory holds nothing): freed once the array confirms; then grown again.
    await ok('team-a', { op: 'update-quota', quotaId, size: 2 * GIB });
    await settled('team-a', 2 * GIB_KIB + DIRECTORY_KIB);
    await ok('team-a', { op: 'update-quota', quotaId, size: 3 * GIB });
    await settled('team-a', 3 * GIB_KIB + DIRECTORY_KIB);

    const snapshotId = Number((await ok('team-a', { op: 'snapshot', name, snapshot: 'snap-go-a1' })).snapshotId);
    await ok('team-a', { op: 'remove-snapshot', snapshotId, snapshot: 'snap-go-a1' });
    expect(array.allSnapshots).to.deep.equal([]);
    await settled('team-a', 3 * GIB_KIB + DIRECTORY_KIB);

    // DeleteVolume in the driver's order: quota, export, directory.
    await ok('team-a', { op: 'clear-quota', quotaId });
    await settled('team-a', DIRECTORY_KIB);
    await ok('team-a', { op: 'unexport', exportId });
    await ok('team-a', { op: 'delete-dir', name });
    await settled('team-a', 0);
    expect(array.hasDirectory(`${ISI_PATH}/${name}`)).to.equal(false);
    expect(array.allExports).to.deep.equal([]);

    // The array saw one login per cluster session, with the Storage's credentials: never the driver's placeholder.
    expect(array.requests.filter((seen) => seen.body.includes('placeholder'))).to.deep.equal([]);
    expect(array.logins).to.equal(1);
  });

  it("denies gopowerscale a quota over the tenant's quota with 507 and another tenant's quota, export and directory with 403; it reports OneFS's error", async () => {
    const name = 'k8s-go-a2';
    const { quotaId, exportId } = await provision('team-a', name, GIB);
    await settled('team-a', GIB_KIB + DIRECTORY_KIB);

    // 8 GiB is within the role's per-volume limit, but with the directory's KiB it is over the tenant's 8 GiB.
    const tooBig = await call('team-a', { op: 'update-quota', quotaId, size: 8 * GIB });
    expect(tooBig, JSON.stringify(tooBig)).to.include({ ok: false, status: 507 });
    expect(tooBig.message).to.match(/not enough quota/);
    expect(array.allQuotas.find((quota) => quota.id === quotaId)!.thresholds.hard).to.equal(GIB);

    const from = array.requests.length;
    const attempts: [string, DriverResult][] = [
      ['expand quota', await call('team-b', { op: 'update-quota', quotaId, size: 2 * GIB })],
      ['delete quota', await call('team-b', { op: 'clear-quota', quotaId })],
      ['delete export', await call('team-b', { op: 'unexport', exportId })],
      ['publish export', await call('team-b', { op: 'add-clients', exportId, clients: ['10.0.0.66'] })],
      ['snapshot directory', await call('team-b', { op: 'snapshot', name, snapshot: 'stolen' })],
      ['delete directory', await call('team-b', { op: 'delete-dir', name })],
    ];
    for (const [what, result] of attempts) {
      expect(result, what).to.include({ ok: false, status: 403 });
      expect(result.message, what).to.match(/not owned by tenant "team-b"/);
    }
    expect(array.requests.slice(from).filter((seen) => seen.method !== 'GET')).to.deep.equal([]);
    expect(array.hasDirectory(`${ISI_PATH}/${name}`)).to.equal(true);
    await settled('team-a', GIB_KIB + DIRECTORY_KIB);
  });
});
