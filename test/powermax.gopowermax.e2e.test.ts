// PowerMax as the real CSI driver's client makes it (issue 13): Dell's gopowermax v2.11.0
// (test/gopowermax-driver, the version csi-powermax pins) makes the controller's calls → the real
// tenant sidecar and its Envoy → the real edge Envoy → the decision service (Redis ledger) → the fake
// Unisphere. gopowermax builds every path and body; nothing here shapes a request by hand.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { startStack, type Stack } from '../src/demo/stack.js';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { CYLINDER_KIB, DEFAULT_STORAGE_GROUPS, FakeUnisphere } from '../src/fakes/powermax/unisphere.js';
import { waitFor } from '../src/harness/wait.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { GoDriver, goDriverBin, type DriverResult } from './support/goDriver.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { legacyEntry, startSidecar, type RunningSidecar } from './support/sidecar.js';

const SRP = 'SRP_1';
const SG = DEFAULT_STORAGE_GROUPS[0]!.storageGroupId;
const NODE_SG = DEFAULT_STORAGE_GROUPS[1]!.storageGroupId;
const TENANT = 'team-a';
const GIB_CYL = 547;
const GIB = GIB_CYL * CYLINDER_KIB;

describe('PowerMax driven by gopowermax v2.11.0 through sidecar → edge → service → fake Unisphere (real Envoy, Redis)', function () {
  this.timeout(180_000);

  let dir: string;
  let unisphere: FakeUnisphere;
  let redis: RunningRedis;
  let ledger: RedisLedger;
  let workspace: Workspace;
  let stack: Stack;
  let sidecar: RunningSidecar;
  let driver: GoDriver;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gopowermax-e2e-'));
    unisphere = await FakeUnisphere.start();
    redis = await startRedis();
    ledger = await RedisLedger.connect({ url: redis.url });
    workspace = await createWorkspace({
      systemType: 'powermax',
      array: { endpoint: unisphere.url, systemId: unisphere.symmetrixId, ca: unisphere.ca, username: unisphere.username, password: unisphere.password },
      pool: SRP, quotaGiB: 8, tenants: [{ name: TENANT, approveSdc: false }],
    });
    stack = await startStack({ workspace, redisUrl: redis.url });
    const tokens = await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: TENANT, roles: [workspace.roleName], accessTtlSeconds: 3600, refreshTtlSeconds: 7200 });
    sidecar = await startSidecar({
      dir, edgePort: Number(new URL(stack.edgeUrl).port), edgeCa: workspace.edgeCa, tokens, plugin: 'powermax',
      arrays: 1, driverConfig: ([port]) => [legacyEntry(unisphere.url, unisphere.symmetrixId, port!)],
    });
    driver = new GoDriver(goDriverBin('gopowermax-driver'));
  });

  after(async () => {
    await driver?.close();
    await sidecar?.stop();
    await stack?.stop();
    await ledger?.close();
    await redis?.stop();
    await unisphere?.stop();
    await workspace?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function ok(command: Record<string, unknown>): Promise<DriverResult> {
    const result = await driver.call({ symId: unisphere.symmetrixId, ...command });
    expect(result, JSON.stringify(result)).to.include({ ok: true });
    return result;
  }

  async function settled(usedKiB: number): Promise<void> {
    await waitFor(async () => {
      const row = (await ledger.usage(TENANT)).find((candidate) => candidate.pool === SRP);
      return (row?.reservedKiB ?? 0) === 0 && (row?.usedKiB ?? 0) === usedKiB;
    }, `usage of ${TENANT} to settle at ${usedKiB} KiB`, 15_000);
  }

  it('runs the controller sequence: create in CYL and GB, get, add/remove, expand, snapshot + link, soft delete, delete', async () => {
    const connected = await ok({ op: 'connect', endpoint: `https://localhost:${sidecar.ports[0]!}`, username: 'driver-user', password: 'driver-password' });
    expect(connected).to.include({ symmetrixId: unisphere.symmetrixId, local: true });

    const cyl = String((await ok({ op: 'create', sg: SG, name: 'csi-CSM-pmax-go-cyl01', size: GIB_CYL })).volumeId);
    await settled(GIB);
    // gopowermax finds the new volume by identifier and checks its cap_gb against the GB asked.
    const gb = String((await ok({ op: 'create', sg: SG, name: 'csi-CSM-pmax-go-gb001', size: 1, unit: 'GB' })).volumeId);
    await settled(2 * GIB);
    expect(await ok({ op: 'get', volumeId: cyl })).to.deep.include({ name: 'csi-CSM-pmax-go-cyl01', capCyl: GIB_CYL, storageGroups: [SG] });

    await ok({ op: 'add', sg: NODE_SG, volumeId: cyl });
    await ok({ op: 'remove', sg: NODE_SG, volumeId: cyl });

    expect(await ok({ op: 'expand', volumeId: cyl, size: 2 * GIB_CYL })).to.include({ capCyl: 2 * GIB_CYL });
    await settled(3 * GIB);

    await ok({ op: 'snapshot', volumeId: gb, snapshot: 'snap-go-1' });
    await settled(4 * GIB);
    await ok({ op: 'link', volumeId: gb, targetId: cyl, snapshot: 'snap-go-1' });
    await ok({ op: 'unlink', volumeId: gb, targetId: cyl, snapshot: 'snap-go-1' });
    await ok({ op: 'delete-snapshot', volumeId: gb, snapshot: 'snap-go-1' });
    await settled(3 * GIB);

    expect(await ok({ op: 'rename', volumeId: gb, newName: '_DELcsi-CSM-pmax-go-gb001' })).to.include({ name: '_DELcsi-CSM-pmax-go-gb001' });
    await settled(2 * GIB);
    await ok({ op: 'remove', sg: SG, volumeId: gb });
    await ok({ op: 'delete', volumeId: gb });
    expect(unisphere.volumes.map((volume) => volume.volumeId)).to.deep.equal([cyl]);
    await settled(2 * GIB);

    // Every request Unisphere saw carried the Storage's credentials, never the driver's.
    const arrayCredential = `Basic ${Buffer.from(`${unisphere.username}:${unisphere.password}`).toString('base64')}`;
    expect(unisphere.requests.filter((request) => request.headers.authorization !== arrayCredential)).to.deep.equal([]);
  });

  it("denies gopowermax a create over quota with 507 and Unisphere's message, which it reports as the error", async () => {
    const denied = await driver.call({ symId: unisphere.symmetrixId, op: 'create', sg: SG, name: 'csi-CSM-pmax-go-big01', size: 7, unit: 'GB' });
    expect(denied.ok).to.equal(false);
    expect(denied.message).to.match(/not enough quota/);
    expect(unisphere.volumeNamed('csi-CSM-pmax-go-big01')).to.equal(undefined);
  });
});
