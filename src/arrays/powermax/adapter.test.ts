// The adapter's lookups against the fake Unisphere: SRPs, volumes, settlement's "does it exist",
// inventory across iterator pages, credentials and error shape.
import { expect } from 'chai';
import { Agent, request } from 'undici';
import type { ArrayCredentials, StorageSystem } from '../../resources/types.js';
import { FakeUnisphere } from '../../fakes/powermax/unisphere.js';
import { ArrayLookupError } from '../types.js';
import { collected } from '../jsonStream.js';
import { createPowerMaxAdapter, type PowerMaxAdapter } from './adapter.js';
import { CYLINDER_KIB } from './classify.js';

const SG = 'csi-CSM-Bronze-SRP_1-SG';

describe('PowerMax adapter against the fake Unisphere', function () {
  this.timeout(20_000);
  let unisphere: FakeUnisphere;
  let adapter: PowerMaxAdapter;
  let system: StorageSystem;
  let credentials: ArrayCredentials;

  before(async () => {
    unisphere = await FakeUnisphere.start({ maxPageSize: 2 });
    adapter = createPowerMaxAdapter({ ca: unisphere.ca });
    system = { name: 'powermax-1', type: 'powermax', systemID: unisphere.symmetrixId, endpoint: unisphere.url, skipCertificateValidation: false, credentials: { kind: 'secret', name: 'pm' } };
    credentials = { username: unisphere.username, password: unisphere.password };
  });

  after(async () => {
    await adapter?.close();
    await unisphere?.stop();
  });

  /** A create as the driver sends it, straight to the fake (the service is not under test here). */
  async function seed(name: string, cylinders: number): Promise<string> {
    const body = JSON.stringify({ editStorageGroupActionParam: { expandStorageGroupParam: { addVolumeParam: { volumeAttributes: [{ capacityUnit: 'CYL', num_of_vols: 1, volume_size: String(cylinders), volumeIdentifier: { identifier_name: name, volumeIdentifierChoice: 'identifier_name' } }] } } } });
    const response = await fetchFake('PUT', `/univmax/restapi/100/sloprovisioning/symmetrix/${unisphere.symmetrixId}/storagegroup/${SG}`, body);
    expect(response.status).to.equal(200);
    return unisphere.volumeNamed(name)!.volumeId;
  }

  async function fetchFake(method: string, path: string, body?: string): Promise<{ status: number }> {
    const agent = new Agent({ connect: { ca: unisphere.ca } });
    const response = await request(`${unisphere.url}${path}`, {
      method: method as 'PUT', body, dispatcher: agent,
      headers: { authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`, 'content-type': 'application/json' },
    });
    await response.body.text();
    await agent.close();
    return { status: response.statusCode };
  }

  it("gives a create's pool as its storage group's SRP, asking Unisphere once", async () => {
    const before = unisphere.requests.length;
    expect(await adapter.poolName(system, credentials, SG)).to.equal('SRP_1');
    expect(await adapter.poolName(system, credentials, SG)).to.equal('SRP_1');
    expect(unisphere.requests.length - before).to.equal(1);
    const noSrp = await adapter.poolName(system, credentials, 'csi-no-srp-SG').catch((error: unknown) => error);
    expect(noSrp).to.be.instanceOf(ArrayLookupError).and.include({ status: 400 });
    const missing = await adapter.poolName(system, credentials, 'nope-SG').catch((error: unknown) => error);
    expect(missing).to.be.instanceOf(ArrayLookupError).and.include({ status: 404 });
  });

  it('reads volumes in cylinders, finds them by identifier, and marks the _DEL rename', async () => {
    const id = await seed('csi-find-1', 547);
    expect(await adapter.volume(system, credentials, id)).to.deep.equal({ id, name: 'csi-find-1', sizeKiB: 547 * CYLINDER_KIB, poolId: 'SRP_1', poolName: 'SRP_1', softDeleted: false });
    expect((await adapter.findVolume(system, credentials, 'csi-find-1'))?.id).to.equal(id);
    expect(await adapter.findVolume(system, credentials, 'csi-absent')).to.equal(undefined);
    const snapshot = await adapter.volume(system, credentials, `snapshot:${id}:snap-1`);
    expect(snapshot).to.include({ name: 'snap-1', sizeKiB: 547 * CYLINDER_KIB, poolName: 'SRP_1' });

    const rename = JSON.stringify({ editVolumeActionParam: { modifyVolumeIdentifierParam: { volumeIdentifier: { identifier_name: '_DELcsi-find-1', volumeIdentifierChoice: 'identifier_name' } } } });
    expect((await fetchFake('PUT', `/univmax/restapi/100/sloprovisioning/symmetrix/${unisphere.symmetrixId}/volume/${id}`, rename)).status).to.equal(200);
    expect(await adapter.volume(system, credentials, id)).to.include({ name: '_DELcsi-find-1', softDeleted: true });
    expect(await adapter.findVolume(system, credentials, 'csi-find-1')).to.equal(undefined);
  });

  it('lists every volume across iterator pages for reconciliation, but the soft-deleted', async () => {
    for (const name of ['csi-inv-1', 'csi-inv-2', 'csi-inv-3']) await seed(name, 547);
    const names = (await collected(adapter.inventory(system, credentials))).map((volume) => volume.name);
    expect(names.sort()).to.deep.equal(['csi-inv-1', 'csi-inv-2', 'csi-inv-3']);
    expect(unisphere.volumes).to.have.length(4);
    expect(unisphere.requests.some((r) => r.path.includes('/common/Iterator/'))).to.equal(true);
  });

  it('finds and lists SnapVX snapshots by name, each its source\'s size and SRP (settlement, reconciliation)', async () => {
    const source = await seed('csi-snap-src', 1094);
    const body = JSON.stringify({ deviceNameListSource: [{ name: source }], executionOption: 'SYNCHRONOUS' });
    expect((await fetchFake('POST', `/univmax/restapi/private/100/replication/symmetrix/${unisphere.symmetrixId}/snapshot/snap-found`, body)).status).to.equal(200);
    const expected = { id: `snapshot:${source}:snap-found`, name: 'snap-found', sizeKiB: 1094 * CYLINDER_KIB, poolId: 'SRP_1', poolName: 'SRP_1', softDeleted: false };
    expect(await adapter.findVolume(system, credentials, 'snap-found')).to.deep.equal(expected);
    expect(await collected(adapter.inventory(system, credentials))).to.deep.include(expected);
    expect(await adapter.findVolume(system, credentials, 'snap-absent')).to.equal(undefined);
  });

  it('forwards with the Storage secret as Basic credentials and denies in Unisphere\'s shape', async () => {
    expect(await adapter.authorize(system, credentials)).to.deep.equal([{ name: 'authorization', value: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` }]);
    expect(adapter.errorBody(507, 'request denied: not enough quota')).to.deep.equal({ contentType: 'application/json', body: '{"message":"request denied: not enough quota"}' });
    const refused = await adapter.volume(system, { username: 'x', password: 'y' }, '00001').catch((error: unknown) => error);
    expect(refused).to.be.instanceOf(ArrayLookupError).and.include({ status: 502 });
  });
});
