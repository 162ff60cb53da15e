// PowerMax end to end (issue 13): the requests gopowermax v2.11.0 sends for the csi-powermax
// controller sequence (bodies byte for byte as recorded in reference array-clients/powermax.md) →
// the real tenant sidecar and its Envoy → the real edge Envoy → the decision service (Redis ledger)
// → the fake Unisphere. The bodies are the recorded ones, so each case can be shaped (another tenant,
// over quota, a body over 1 KiB, array faults); test/powermax.gopowermax.e2e.test.ts runs the Go client.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { startStack, type Stack } from '../src/demo/stack.js';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { CYLINDER_KIB, DEFAULT_STORAGE_GROUPS, FakeUnisphere } from '../src/fakes/powermax/unisphere.js';
import { waitFor } from '../src/harness/wait.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { legacyEntry, startSidecar, type RunningSidecar } from './support/sidecar.js';

const SRP = 'SRP_1';
const SG = DEFAULT_STORAGE_GROUPS[0]!.storageGroupId;
const QUOTA_GIB = 8;
/** 1 GiB as csi-powermax asks for it: 547 cylinders. */
const GIB_CYL = 547;
const TENANTS = ['team-a', 'team-b'] as const;
type TenantName = (typeof TENANTS)[number];

interface Reply {
  status: number;
  body: unknown;
}

describe('PowerMax end to end: gopowermax requests through sidecar → edge → service → fake Unisphere (real Envoy, Redis)', function () {
  this.timeout(180_000);

  let unisphere: FakeUnisphere;
  let redis: RunningRedis;
  let ledger: RedisLedger;
  let workspace: Workspace;
  let stack: Stack;
  const sidecars = new Map<TenantName, RunningSidecar>();
  const dirs: string[] = [];
  const agent = new Agent({ connect: { rejectUnauthorized: false } });

  before(async () => {
    unisphere = await FakeUnisphere.start();
    redis = await startRedis();
    ledger = await RedisLedger.connect({ url: redis.url });
    workspace = await createWorkspace({
      systemType: 'powermax',
      array: { endpoint: unisphere.url, systemId: unisphere.symmetrixId, ca: unisphere.ca, username: unisphere.username, password: unisphere.password },
      pool: SRP,
      quotaGiB: QUOTA_GIB,
      tenants: TENANTS.map((name) => ({ name, approveSdc: false })),
    });
    stack = await startStack({ workspace, redisUrl: redis.url });
    for (const tenant of TENANTS) {
      const dir = await mkdtemp(path.join(os.tmpdir(), `powermax-e2e-${tenant}-`));
      dirs.push(dir);
      const tokens = await mintTokenPair({
        keys: workspace.signingKeys, subject: 'csm-tenant', group: tenant, roles: [workspace.roleName], accessTtlSeconds: 3600, refreshTtlSeconds: 7200,
      });
      sidecars.set(tenant, await startSidecar({
        dir, edgePort: Number(new URL(stack.edgeUrl).port), edgeCa: workspace.edgeCa, tokens, plugin: 'powermax',
        arrays: 1, driverConfig: ([port]) => [legacyEntry(unisphere.url, unisphere.symmetrixId, port!)],
      }));
    }
  });

  after(async () => {
    for (const sidecar of sidecars.values()) await sidecar.stop();
    await stack?.stop();
    await ledger?.close();
    await redis?.stop();
    await unisphere?.stop();
    await workspace?.remove();
    await agent.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /** One request as gopowermax sends it: its own Basic credentials, the version in Accept and Content-Type. */
  async function send(tenant: TenantName, method: string, apiPath: string, body?: unknown): Promise<Reply> {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const response = await request(`https://localhost:${sidecars.get(tenant)!.ports[0]!}${apiPath}`, {
      method: method as 'GET',
      headers: {
        authorization: `Basic ${Buffer.from('driver-user:driver-password').toString('base64')}`,
        accept: 'application/json;version=100',
        'content-type': 'application/json;version=100',
        'application-type': 'CSI Driver for Dell EMC PowerMax/v2.11.0',
      },
      body: text,
      dispatcher: agent,
    });
    const raw = await response.body.text();
    let parsed: unknown = raw;
    try {
      parsed = raw === '' ? '' : JSON.parse(raw);
    } catch {
      // not JSON: kept as text
    }
    return { status: response.statusCode, body: parsed };
  }

  const sym = () => unisphere.symmetrixId;
  const slo = () => `/univmax/restapi/100/sloprovisioning/symmetrix/${sym()}`;
  const snapVx = () => `/univmax/restapi/private/100/replication/symmetrix/${sym()}`;

  /** CreateVolumeInStorageGroupS: the driver's body (step 6/8), in its unit. */
  const createBody = (name: string, size: string, unit: 'CYL' | 'GB') => ({
    editStorageGroupActionParam: {
      expandStorageGroupParam: {
        addVolumeParam: {
          create_new_volumes: true, emulation: 'FBA', enable_mobility_id: false, remoteSymmSGInfoParam: { force: true },
          volumeAttributes: [{ capacityUnit: unit, num_of_vols: 1, volume_size: size, volumeIdentifier: { identifier_name: name, volumeIdentifierChoice: 'identifier_name' } }],
        },
      },
    },
    executionOption: 'SYNCHRONOUS',
  });
  const renameBody = (name: string) => ({
    editVolumeActionParam: { modifyVolumeIdentifierParam: { volumeIdentifier: { identifier_name: name, volumeIdentifierChoice: 'identifier_name' } } },
    executionOption: 'SYNCHRONOUS',
  });
  const expandBody = (size: string, unit: 'CYL' | 'GB') => ({
    editVolumeActionParam: { expandVolumeParam: { volumeAttribute: { volume_size: size, capacityUnit: unit } }, enable_mobility_id_param: null },
    executionOption: 'SYNCHRONOUS',
  });
  const snapshotBody = (device: string) => ({
    deviceNameListSource: [{ name: device }], bothSides: false, star: false, force: false, timeInHours: false, timeToLive: 0, executionOption: 'SYNCHRONOUS',
  });
  const linkBody = (action: 'Link' | 'Unlink', source: string, target: string) => ({
    action, deviceNameListSource: [{ name: source }], deviceNameListTarget: [{ name: target }], generation: 0, timeInHours: false, executionOption: 'SYNCHRONOUS',
  });
  const groupVolumesBody = (param: 'add' | 'remove', device: string) => ({
    editStorageGroupActionParam: param === 'add'
      ? { expandStorageGroupParam: { addSpecificVolumeParam: { volumeId: [device], remoteSymmSGInfoParam: { force: true } } } }
      : { removeVolumeParam: { volumeId: [device], remoteSymmSGInfoParam: { force: true } } },
    executionOption: 'SYNCHRONOUS',
  });

  async function usedKiB(tenant: TenantName): Promise<{ used: number; reserved: number }> {
    const row = (await ledger.usage(tenant)).find((candidate) => candidate.pool === SRP);
    return { used: row?.usedKiB ?? 0, reserved: row?.reservedKiB ?? 0 };
  }

  async function settled(tenant: TenantName, used: number): Promise<void> {
    await waitFor(async () => {
      const now = await usedKiB(tenant);
      return now.reserved === 0 && now.used === used;
    }, `usage of ${tenant} to settle at ${used} KiB`, 15_000);
  }

  /** A create that must succeed; the device id as the driver then looks it up (GetVolumeIDList). */
  async function create(tenant: TenantName, name: string, size: string, unit: 'CYL' | 'GB'): Promise<string> {
    const reply = await send(tenant, 'PUT', `${slo()}/storagegroup/${SG}`, createBody(name, size, unit));
    expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
    const list = await send(tenant, 'GET', `${slo()}/volume?volume_identifier=${name}`);
    const ids = (list.body as { resultList: { result: { volumeId: string }[] } }).resultList.result;
    expect(ids).to.have.length(1);
    return ids[0]!.volumeId;
  }

  const mutationsSince = (seen: number) => unisphere.requests.slice(seen).filter((r) => r.method !== 'GET');

  let cylVolume: string;
  let gbVolume: string;

  it('creates in CYL and in GB, charged in whole cylinders of 1,920 KiB in the storage group\'s SRP; gets pass through', async () => {
    // The driver's probes: version, array, SRPs, storage group — reads, with the array's own credentials.
    expect((await send('team-a', 'GET', '/univmax/restapi/version')).status).to.equal(200);
    expect((await send('team-a', 'GET', `/univmax/restapi/100/system/symmetrix/${sym()}`)).body).to.include({ symmetrixId: sym(), local: true });
    expect((await send('team-a', 'GET', `${slo()}/srp`)).body).to.deep.equal({ srpId: [SRP] });
    expect((await send('team-a', 'GET', `${slo()}/storagegroup/${SG}`)).body).to.include({ srp: SRP });
    const arrayCredential = `Basic ${Buffer.from(`${unisphere.username}:${unisphere.password}`).toString('base64')}`;
    expect(unisphere.requests.filter((r) => r.headers.authorization !== arrayCredential)).to.deep.equal([]);

    cylVolume = await create('team-a', 'csi-CSM-pmax-cyl0000001', String(GIB_CYL), 'CYL');
    await settled('team-a', GIB_CYL * CYLINDER_KIB);
    // 1 GB is 546.13 cylinders: the array allocates 547, and that is what is charged.
    gbVolume = await create('team-a', 'csi-CSM-pmax-gb00000001', '1', 'GB');
    await settled('team-a', 2 * GIB_CYL * CYLINDER_KIB);

    const got = await send('team-a', 'GET', `${slo()}/volume/${cylVolume}`);
    expect(got.body).to.include({ volumeId: cylVolume, volume_identifier: 'csi-CSM-pmax-cyl0000001', cap_cyl: GIB_CYL });
    expect((got.body as { storageGroupId: string[] }).storageGroupId).to.deep.equal([SG]);
  });

  it('adds a volume to the node storage group and masking view for its owner only', async () => {
    const nodeGroup = 'csi-CSM-node1-SG';
    // The node's objects name no volume: created for a tenant with a role on the array.
    expect((await send('team-a', 'POST', `${slo()}/storagegroup`, { storageGroupId: nodeGroup, srpId: 'NONE', sloBasedStorageGroupParam: [], executionOption: 'SYNCHRONOUS' })).status).to.equal(201);
    const view = await send('team-a', 'POST', `${slo()}/maskingview`, {
      maskingViewId: 'csi-CSM-node1-MV', hostOrHostGroupSelection: { useExistingHostParam: { hostId: 'csi-node1' } },
      portGroupSelection: { useExistingPortGroupParam: { portGroupId: 'csi-PG' } }, storageGroupSelection: { useExistingStorageGroupParam: { storageGroupId: nodeGroup } },
      executionOption: 'SYNCHRONOUS',
    });
    expect(view.status, JSON.stringify(view.body)).to.equal(200);

    const seen = unisphere.requests.length;
    const stolen = await send('team-b', 'PUT', `${slo()}/storagegroup/${nodeGroup}`, groupVolumesBody('add', cylVolume));
    expect(stolen.status).to.equal(403);
    expect(mutationsSince(seen)).to.deep.equal([]);

    expect((await send('team-a', 'PUT', `${slo()}/storagegroup/${nodeGroup}`, groupVolumesBody('add', cylVolume))).status).to.equal(200);
    const connections = await send('team-a', 'GET', `${slo()}/maskingview/csi-CSM-node1-MV/connections?volume_id=${cylVolume}`);
    expect((connections.body as { maskingViewConnection: { volumeId: string }[] }).maskingViewConnection.map((c) => c.volumeId)).to.deep.equal([cylVolume]);
    expect((await send('team-a', 'PUT', `${slo()}/storagegroup/${nodeGroup}`, groupVolumesBody('remove', cylVolume))).status).to.equal(200);
  });

  it('charges an expansion by its increase and refuses a shrink before the array', async () => {
    const before = (await usedKiB('team-a')).used;
    const reply = await send('team-a', 'PUT', `${slo()}/volume/${cylVolume}`, expandBody(String(2 * GIB_CYL), 'CYL'));
    expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
    await settled('team-a', before + GIB_CYL * CYLINDER_KIB);
    expect(unisphere.volumeNamed('csi-CSM-pmax-cyl0000001')?.cap_cyl).to.equal(2 * GIB_CYL);

    const seen = unisphere.requests.length;
    const shrink = await send('team-a', 'PUT', `${slo()}/volume/${cylVolume}`, expandBody('1', 'GB'));
    expect(shrink.status).to.equal(400);
    expect(shrink.body).to.have.property('message').that.is.a('string');
    expect(mutationsSince(seen)).to.deep.equal([]);
    await settled('team-a', before + GIB_CYL * CYLINDER_KIB);
  });

  it('snapshots (charged the source\'s size) and links a target, for the owner of both', async () => {
    const before = (await usedKiB('team-a')).used;
    const snapshot = 'snapshot-0001';
    expect((await send('team-a', 'GET', `${snapVx()}/volume/${gbVolume}/snapshot/${snapshot}`)).status).to.equal(404);
    const made = await send('team-a', 'POST', `${snapVx()}/snapshot/${snapshot}`, snapshotBody(gbVolume));
    expect(made.status, JSON.stringify(made.body)).to.equal(200);
    await settled('team-a', before + GIB_CYL * CYLINDER_KIB);

    const target = await create('team-a', 'csi-CSM-pmax-clone00001', String(GIB_CYL), 'CYL');
    await settled('team-a', before + 2 * GIB_CYL * CYLINDER_KIB);
    expect((await send('team-a', 'PUT', `${snapVx()}/snapshot/${snapshot}`, linkBody('Link', gbVolume, target))).status).to.equal(200);
    const info = await send('team-a', 'GET', `${snapVx()}/volume/${gbVolume}/snapshot`);
    expect((info.body as { snapshotSrcs: { linkedDevices: { targetDevice: string }[] }[] }).snapshotSrcs[0]!.linkedDevices.map((l) => l.targetDevice)).to.deep.equal([target]);

    // Unlink, then delete the snapshot: its charge is freed once the array confirms.
    expect((await send('team-a', 'PUT', `${snapVx()}/snapshot/${snapshot}`, linkBody('Unlink', gbVolume, target))).status).to.equal(200);
    const deleted = await send('team-a', 'DELETE', `${snapVx()}/snapshot/${snapshot}`, { deviceNameListSource: [{ name: gbVolume }], generation: 0, executionOption: 'SYNCHRONOUS' });
    expect(deleted.status, JSON.stringify(deleted.body)).to.equal(204);
    await settled('team-a', before + GIB_CYL * CYLINDER_KIB);
  });

  it("refuses another tenant's rename, expansion, snapshot and link with 403 in Unisphere's shape, before the array", async () => {
    const seen = unisphere.requests.length;
    const own = await create('team-b', 'csi-CSM-pmax-teamb0001', String(GIB_CYL), 'CYL');
    const afterCreate = unisphere.requests.length;
    for (const [method, apiPath, body] of [
      ['PUT', `${slo()}/volume/${gbVolume}`, renameBody('_DELcsi-CSM-pmax-gb00000001')],
      ['PUT', `${slo()}/volume/${gbVolume}`, expandBody(String(4 * GIB_CYL), 'CYL')],
      ['POST', `${snapVx()}/snapshot/stolen-snap`, snapshotBody(gbVolume)],
      ['PUT', `${snapVx()}/snapshot/stolen-snap`, linkBody('Link', gbVolume, own)],
      ['DELETE', `${slo()}/volume/${gbVolume}`, undefined],
    ] as const) {
      const reply = await send('team-b', method, apiPath, body);
      expect(reply.status, `${method} ${apiPath}`).to.equal(403);
      expect(Object.keys(reply.body as object)).to.deep.equal(['message']);
    }
    // A storage-group snapshot would copy every tenant's volumes of the shared group: refused, saying what to do instead.
    const group = await send('team-b', 'POST', `/univmax/restapi/100/replication/symmetrix/${sym()}/storagegroup/${SG}/snapshot`, { snapshotName: 'sg-snap', executionOption: 'SYNCHRONOUS' });
    expect(group.status).to.equal(403);
    expect((group.body as { message: string }).message).to.match(/storage-group snapshots are not allowed: .*snapshot each volume instead/);
    expect(seen).to.be.lessThan(afterCreate);
    expect(mutationsSince(afterCreate)).to.deep.equal([]);
    expect(unisphere.volumeNamed('csi-CSM-pmax-gb00000001')?.cap_cyl).to.equal(GIB_CYL);
  });

  it('denies a create over quota with 507 (never 401) in Unisphere\'s shape, before the array', async () => {
    const seen = unisphere.requests.length;
    const reply = await send('team-a', 'PUT', `${slo()}/storagegroup/${SG}`, createBody('csi-CSM-pmax-toolarge01', String(QUOTA_GIB - 3), 'GB'));
    expect(reply.status, JSON.stringify(reply.body)).to.equal(507);
    expect(Object.keys(reply.body as object)).to.deep.equal(['message']);
    expect((reply.body as { message: string }).message).to.match(/not enough quota/).and.include('team-a').and.include(SRP);
    expect(mutationsSince(seen)).to.deep.equal([]);
    expect(unisphere.volumeNamed('csi-CSM-pmax-toolarge01')).to.equal(undefined);
  });

  it('allows a create whose body is over 1 KiB (Dell truncated it into a 500)', async () => {
    const before = (await usedKiB('team-a')).used;
    const name = 'csi-CSM-pmax-large-body-0000000000000000000000000000000000000001';
    const body = JSON.stringify(createBody(name, String(GIB_CYL), 'CYL'), null, '\t'.repeat(12));
    expect(Buffer.byteLength(body)).to.be.greaterThan(1024);
    const reply = await send('team-a', 'PUT', `${slo()}/storagegroup/${SG}`, body);
    expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
    expect(unisphere.volumeNamed(name)?.cap_cyl).to.equal(GIB_CYL);
    await settled('team-a', before + GIB_CYL * CYLINDER_KIB);
  });

  it('array faults: a create Unisphere fails is not charged (a retry is charged once); a rename it refuses frees nothing (Dell freed it anyway)', async () => {
    const before = (await usedKiB('team-b')).used;
    const name = 'csi-CSM-pmax-fault00001';
    unisphere.failNext(500, 'Internal error injected by the test');
    const failed = await send('team-b', 'PUT', `${slo()}/storagegroup/${SG}`, createBody(name, String(GIB_CYL), 'CYL'));
    expect(failed.status).to.equal(500);
    expect(failed.body).to.deep.equal({ message: 'Internal error injected by the test' });
    await settled('team-b', before);
    const id = await create('team-b', name, String(GIB_CYL), 'CYL');
    await settled('team-b', before + GIB_CYL * CYLINDER_KIB);

    unisphere.failNext(500, 'Internal error injected by the test');
    expect((await send('team-b', 'PUT', `${slo()}/volume/${id}`, renameBody(`_DEL${name}`))).status).to.equal(500);
    await settled('team-b', before + GIB_CYL * CYLINDER_KIB);
    expect(unisphere.volumeNamed(name)?.volumeId).to.equal(id);
    expect(await ledger.owns({ systemType: 'powermax', systemID: sym(), pool: SRP, tenant: 'team-b' }, name)).to.equal(true);
  });

  it('soft-deletes by the _DEL rename (freed once the array confirms), then lets the driver remove the volume', async () => {
    const before = (await usedKiB('team-a')).used;
    const name = 'csi-CSM-pmax-gb00000001';
    const renamed = await send('team-a', 'PUT', `${slo()}/volume/${gbVolume}`, renameBody(`_DEL${name}`));
    expect(renamed.status, JSON.stringify(renamed.body)).to.equal(200);
    expect(renamed.body).to.include({ volume_identifier: `_DEL${name}` });
    await settled('team-a', before - GIB_CYL * CYLINDER_KIB);
    expect(await ledger.owns({ systemType: 'powermax', systemID: sym(), pool: SRP, tenant: 'team-a' }, name)).to.equal(false);

    // The deletion worker: out of its storage group, then DELETE. Nothing is freed twice.
    expect((await send('team-a', 'PUT', `${slo()}/storagegroup/${SG}`, groupVolumesBody('remove', gbVolume))).status).to.equal(200);
    const removed = await send('team-a', 'DELETE', `${slo()}/volume/${gbVolume}`);
    expect(removed.status, JSON.stringify(removed.body)).to.equal(204);
    expect(unisphere.volumes.map((v) => v.volumeId)).to.not.include(gbVolume);
    await settled('team-a', before - GIB_CYL * CYLINDER_KIB);
  });
});
