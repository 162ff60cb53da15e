// PowerFlex as the real CSI driver uses it (issue 11): Dell's own client library (goscaleio v1.21.0,
// test/goscaleio-driver) makes the csi-powerflex controller's calls → the real tenant sidecar and
// its Envoy → the real edge Envoy → the decision service (Redis ledger) → the fake gateway, for a
// 3.x and a 4.x gateway. goscaleio builds its URLs from the gateway's `links` and sends its own
// bodies; nothing here shapes a request by hand.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { startStack, type Stack } from '../src/demo/stack.js';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { DEFAULT_NAS_SERVERS, DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB, MAX_VOLUME_SIZE_GB, type GatewayVersion } from '../src/fakes/powerflex/gateway.js';
import { waitFor } from '../src/harness/wait.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { GoDriver, goDriverBin, type DriverResult } from './support/goDriver.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { legacyEntry, startSidecar, type RunningSidecar } from './support/sidecar.js';

const POOL = DEFAULT_POOLS[0]!;
const QUOTA_GIB = 40;
const TENANT = 'team-a';
const SDC_GUID = 'A1B2C3D4-0000-0000-0000-000000000004';
const GiB = GIB_IN_KIB;

// The 4.x gateway once more with the edge asking over ext_authz's http_service (serve
// --http-check-listen): the same driver calls, the same answers, the same settlement.
const RUNS: Array<{ version: GatewayVersion; transport: 'grpc' | 'http' }> = [
  { version: '3.6', transport: 'grpc' },
  { version: '4.5', transport: 'grpc' },
  { version: '4.5', transport: 'http' },
];

for (const { version, transport } of RUNS) {
  describe(`PowerFlex ${version} gateway driven by goscaleio through sidecar → edge (${transport} ext_authz) → service (real Envoy, Redis)`, function () {
    this.timeout(180_000);

    let dir: string;
    let gateway: FakePowerFlexGateway;
    let redis: RunningRedis;
    let ledger: RedisLedger;
    let workspace: Workspace;
    let stack: Stack;
    let sidecar: RunningSidecar;
    let driver: GoDriver;

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'goscaleio-e2e-'));
      gateway = await FakePowerFlexGateway.start({ version });
      redis = await startRedis();
      ledger = await RedisLedger.connect({ url: redis.url });
      workspace = await createWorkspace({
        array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: 'admin', password: 'Password123!' },
        pool: POOL.name,
        quotaGiB: QUOTA_GIB,
        tenants: [{ name: TENANT, approveSdc: true }],
      });
      stack = await startStack({ workspace, redisUrl: redis.url, transport });
      const tokens = await mintTokenPair({
        keys: workspace.signingKeys, subject: 'csm-tenant', group: TENANT, roles: [workspace.roleName], accessTtlSeconds: 3600, refreshTtlSeconds: 7200,
      });
      sidecar = await startSidecar({
        dir, edgePort: Number(new URL(stack.edgeUrl).port), edgeCa: workspace.edgeCa, tokens,
        arrays: 1, driverConfig: ([port]) => [legacyEntry(gateway.url, gateway.systemId, port!)],
      });
      driver = new GoDriver(goDriverBin('goscaleio-driver'));
    });

    after(async () => {
      await driver?.close();
      await sidecar?.stop();
      await stack?.stop();
      await ledger?.close();
      await redis?.stop();
      await gateway?.stop();
      await workspace?.remove();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** One driver call that must succeed. */
    async function ok(command: Record<string, unknown>): Promise<DriverResult> {
      const result = await driver.call(command);
      expect(result, JSON.stringify(result)).to.include({ ok: true });
      return result;
    }

    /** The tenant's usage once Envoy's access log has settled every hold. */
    async function settled(usedKiB: number): Promise<void> {
      await waitFor(async () => {
        const row = (await ledger.usage(TENANT)).find((candidate) => candidate.pool === POOL.name);
        return (row?.reservedKiB ?? 0) === 0 && (row?.usedKiB ?? 0) === usedKiB;
      }, `usage of ${TENANT} to settle at ${usedKiB / GiB} GiB`, 15_000);
    }

    const scheme = version === '3.6' ? /^Basic / : /^Bearer /;

    it('runs the CSI controller sequence: capacity, create, get, map, expand (charged by the increase), snapshot, unmap, delete', async () => {
      // Probe: goscaleio's login is answered by storage-authz (Dell's unquoted body), its version query reaches the array.
      const probe = await ok({ op: 'probe', endpoint: `https://localhost:${sidecar.ports[0]!}`, systemId: gateway.systemId });
      expect(probe).to.include({ version, token: 'hellofromkaravi' });
      // Every login the gateway saw is the service's own, with the array's credentials (4.x: none on /api/login).
      const serviceLogin = `Basic ${Buffer.from('admin:Password123!').toString('base64')}`;
      const logins = gateway.requestsTo('/api/login');
      expect(logins.filter((seen) => seen.headers.authorization !== serviceLogin)).to.deep.equal([]);
      expect(logins).to.have.length(version === '3.6' ? 1 : 0);

      // GetCapacity: statistics through the system's and the pool's links, and querySystemLimits.
      const capacity = await ok({ op: 'capacity', pool: POOL.name });
      expect(capacity).to.include({ maxVolumeSizeGb: String(MAX_VOLUME_SIZE_GB), protectionDomains: 1 });
      expect(gateway.requestsTo('/api/instances/System/action/querySystemLimits')).to.have.length(1);

      const created = await ok({ op: 'create', name: `k8s-${version}-1`, pool: POOL.name, sizeGiB: 8 });
      const id = String(created.id);
      expect(created.sizeInKb).to.equal(8 * GiB);
      await settled(8 * GiB);
      expect(await ok({ op: 'get', id })).to.include({ name: `k8s-${version}-1`, sizeInKb: 8 * GiB });

      await ok({ op: 'map', id, sdcGuid: SDC_GUID });
      expect(gateway.volumes.find((volume) => volume.id === id)!.mappedSdcInfo).to.deep.include({
        sdcId: '34e49c2000000004', sdcIp: '10.0.0.4', sdcName: 'worker-1', accessMode: 'ReadWrite', limitIops: 1000, limitBwInMbps: 0,
      });

      // ControllerExpandVolume 8 → 16 GiB: the ledger charges the 8 GiB increase once the array confirms.
      const expanded = await ok({ op: 'expand', id, sizeGiB: 16 });
      expect(expanded).to.include({ sizeInKb: 16 * GiB, volumeReplicationState: 'UnmarkedForReplication' });
      await settled(16 * GiB);
      const resize = gateway.requestsTo(`/api/instances/Volume::${id}/action/setVolumeSize`).at(-1)!;
      expect(JSON.parse(resize.body)).to.deep.equal({ sizeInGB: '16' });
      expect(String(resize.headers.authorization)).to.match(scheme);
      expect(gateway.issuedTokens.some((token) => String(resize.headers.authorization).includes(token) || Buffer.from(String(resize.headers.authorization).replace(/^Basic /, ''), 'base64').toString() === `:${token}`)).to.equal(true);

      const snapshot = await ok({ op: 'snapshot', id, name: `sn-${version}-1` });
      expect(snapshot).to.include({ sizeInKb: 16 * GiB, ancestorVolumeId: id });
      await settled(32 * GiB);

      await ok({ op: 'unmap', id, sdcGuid: SDC_GUID });
      expect(gateway.volumes.find((volume) => volume.id === id)!.mappedSdcInfo).to.deep.equal([]);
      await ok({ op: 'delete', id: String(snapshot.id) });
      await settled(16 * GiB);
      await ok({ op: 'delete', id });
      await settled(0);
      expect(gateway.volumes).to.deep.equal([]);
    });

    it('refuses an expansion over quota with 507 naming tenant, pool, quota, used and requested, before the array', async () => {
      const first = await ok({ op: 'create', name: `k8s-${version}-2`, pool: POOL.name, sizeGiB: 16 });
      const second = await ok({ op: 'create', name: `k8s-${version}-3`, pool: POOL.name, sizeGiB: 16 });
      await settled(32 * GiB);
      const resizes = gateway.requestsTo('/action/setVolumeSize').length;

      const refused = await driver.call({ op: 'expand', id: String(first.id), sizeGiB: 32 });
      expect(refused).to.include({ ok: false, status: 507, errorCode: 507 });
      for (const part of [`tenant "${TENANT}"`, `powerflex/${gateway.systemId}/${POOL.name}`, `quota ${QUOTA_GIB} GiB`, 'used 32 GiB', 'requested 16 GiB']) {
        expect(refused.message).to.include(part);
      }
      expect(gateway.requestsTo('/action/setVolumeSize')).to.have.length(resizes);
      expect(gateway.volumes.find((volume) => volume.id === first.id)!.sizeInKb).to.equal(16 * GiB);
      await settled(32 * GiB);

      for (const volume of [first, second]) await ok({ op: 'delete', id: String(volume.id) });
      await settled(0);
    });

    if (version !== '3.6') {
      it("answers the driver's own 4.x login locally: the gateway never sees it", async () => {
        const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
        try {
          const response = await request(`https://localhost:${sidecar.ports[0]!}/rest/auth/login`, {
            method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'placeholder', password: 'placeholder' }),
          });
          expect(response.statusCode).to.equal(200);
          expect(await response.body.json()).to.include({ access_token: 'hellofromkaravi', refresh_token: 'hellofromkaravi' });
        } finally {
          await dispatcher.close();
        }
        expect(gateway.requestsTo('/rest/auth/login').filter((seen) => seen.body.includes('placeholder'))).to.deep.equal([]);
      });

      it('charges NFS file systems like volumes: create, expand by the increase, snapshot, restore, export, delete (4.x file API)', async () => {
        const bytes = (gib: number) => gib * GiB * 1024;
        const created = await ok({ op: 'nfs-create', name: 'k8s-nfs-1', pool: POOL.name, nas: DEFAULT_NAS_SERVERS[0]!.name, sizeBytes: bytes(8) });
        const id = String(created.id);
        expect(created.sizeTotal).to.equal(bytes(8));
        await settled(8 * GiB);
        await ok({ op: 'nfs-expand', id, sizeBytes: bytes(16) });
        await settled(16 * GiB);
        const snapshot = await ok({ op: 'nfs-snapshot', id, name: 'sn-nfs-1' });
        await settled(32 * GiB);
        await ok({ op: 'nfs-restore', id, source: String(snapshot.id) });
        const exported = await ok({ op: 'nfs-export', name: 'k8s-nfs-1', id, host: '10.0.0.4/255.255.255.255' });
        expect(gateway.nfsExports.map((nfs) => nfs.fileSystemId)).to.deep.equal([id]);
        await ok({ op: 'nfs-unexport', id: String(exported.id) });
        await ok({ op: 'nfs-delete', name: 'sn-nfs-1' });
        await settled(16 * GiB);
        await ok({ op: 'nfs-delete', name: 'k8s-nfs-1' });
        await settled(0);
        expect(gateway.fileSystems).to.deep.equal([]);
        const deleted = gateway.requestsTo(`/rest/v1/file-systems/${id}`).filter((request) => request.method === 'DELETE');
        expect(deleted).to.have.length(1);
        expect(String(deleted[0]!.headers.authorization)).to.match(/^Bearer /);
      });
    }
  });
}
