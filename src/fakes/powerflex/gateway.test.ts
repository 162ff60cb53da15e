import { expect } from 'chai';
import { Agent, request } from 'undici';
import { FakePowerFlexGateway, GIB_IN_KIB } from './gateway.js';

async function callGateway(
  gateway: FakePowerFlexGateway, dispatcher: Agent, method: string, path: string, authorization?: string, body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await request(`${gateway.url}${path}`, {
    method: method as 'GET', dispatcher,
    headers: { ...(authorization ? { authorization } : {}), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, json: text === '' ? undefined : JSON.parse(text) };
}

describe('fake PowerFlex gateway', () => {
  let gateway: FakePowerFlexGateway;
  let dispatcher: Agent;

  beforeEach(async () => {
    gateway = await FakePowerFlexGateway.start({ tokenTtlMs: 60_000 });
    dispatcher = new Agent({ connect: { ca: gateway.ca } });
  });

  afterEach(async () => {
    await dispatcher.close();
    await gateway.stop();
  });

  const call = (method: string, path: string, authorization?: string, body?: unknown) => callGateway(gateway, dispatcher, method, path, authorization, body);

  async function login(): Promise<string> {
    const { status, json } = await call('GET', '/api/login', `Basic ${Buffer.from('admin:Password123!').toString('base64')}`);
    expect(status).to.equal(200);
    return `Basic ${Buffer.from(`:${json as string}`).toString('base64')}`;
  }

  it('issues a token for the right credentials only and rejects calls without one', async () => {
    expect((await call('GET', '/api/login', `Basic ${Buffer.from('admin:wrong').toString('base64')}`)).status).to.equal(401);
    const unauthenticated = await call('GET', '/api/version');
    expect(unauthenticated).to.deep.equal({ status: 401, json: { message: 'Unauthorized', httpStatusCode: 401, errorCode: 0 } });
    expect(await call('GET', '/api/version/', await login())).to.deep.equal({ status: 200, json: '3.6' });
  });

  it('streams a volume listing (chunked) with every volume in order', async () => {
    for (let i = 0; i < 20_000; i++) gateway.seedVolume(`k8s-${i}`, '3df6b86600000000', 8 * GIB_IN_KIB);
    const response = await request(`${gateway.url}/api/types/Volume/instances`, { dispatcher, headers: { authorization: await login() } });
    expect(response.headers).to.include({ 'transfer-encoding': 'chunked' }).and.not.have.property('content-length');
    const volumes = (await response.body.json()) as { name: string; links: unknown[] }[];
    expect(volumes.map((volume) => volume.name)).to.deep.equal(Array.from({ length: 20_000 }, (_, i) => `k8s-${i}`));
    expect(volumes[19_999]!.links).to.deep.include({ rel: 'self', href: `/api/instances/Volume::${gateway.volumes.at(-1)!.id}` });
  });

  it('expires tokens after the configured time', async () => {
    const short = await FakePowerFlexGateway.start({ tokenTtlMs: 0 });
    const shortDispatcher = new Agent({ connect: { ca: short.ca } });
    try {
      const basic = `Basic ${Buffer.from('admin:Password123!').toString('base64')}`;
      const token = await (await request(`${short.url}/api/login`, { dispatcher: shortDispatcher, headers: { authorization: basic } })).body.json();
      const response = await request(`${short.url}/api/version`, { dispatcher: shortDispatcher, headers: { authorization: `Basic ${Buffer.from(`:${token as string}`).toString('base64')}` } });
      await response.body.dump();
      expect(response.statusCode).to.equal(401);
    } finally {
      await shortDispatcher.close();
      await short.stop();
    }
  });

  it('creates volumes in whole 8 GiB units, refuses a duplicate name, and finds them by name', async () => {
    const auth = await login();
    const created = await call('POST', '/api/types/Volume/instances/', auth, { name: 'k8s-1', storagePoolId: '3df6b86600000000', volumeSizeInKb: '100' });
    const { id } = created.json as { id: string };
    expect((await call('GET', `/api/instances/Volume::${id}`, auth)).json).to.include({ name: 'k8s-1', sizeInKb: 8 * GIB_IN_KIB, storagePoolId: '3df6b86600000000' });
    const duplicate = await call('POST', '/api/types/Volume/instances', auth, { name: 'k8s-1', storagePoolId: '3df6b86600000000', volumeSizeInKb: '100' });
    expect(duplicate).to.deep.equal({ status: 500, json: { message: 'Volume name already in use. Please use a different name.', httpStatusCode: 500, errorCode: 6 } });
    expect(await call('POST', '/api/types/Volume/instances/action/queryIdByKey/', auth, { name: 'k8s-1' })).to.deep.equal({ status: 200, json: id });
    expect((await call('POST', '/api/types/Volume/instances/action/queryIdByKey', auth, { name: 'nope' })).json).to.include({ errorCode: 79 });
  });

  it('maps, snapshots and removes volumes; a removed volume is gone', async () => {
    const auth = await login();
    const { id } = (await call('POST', '/api/types/Volume/instances', auth, { name: 'k8s-2', storagePoolId: '3df6b86600000000', volumeSizeInKb: String(8 * GIB_IN_KIB) })).json as { id: string };
    expect((await call('POST', `/api/instances/Volume::${id}/action/addMappedSdc/`, auth, { sdcId: '34e49c2000000004' })).status).to.equal(200);
    expect((await call('GET', `/api/instances/System::${gateway.systemId}/relationships/Sdc`, auth)).json).to.have.length(1);
    const snapshot = await call('POST', `/api/instances/System::${gateway.systemId}/action/snapshotVolumes`, auth, { snapshotDefs: [{ volumeId: id, snapshotName: 'sn-1' }] });
    expect((snapshot.json as { volumeIdList: string[] }).volumeIdList).to.have.length(1);
    expect((await call('POST', `/api/instances/Volume::${id}/action/removeMappedSdc`, auth, { sdcId: '34e49c2000000004' })).status).to.equal(200);
    expect((await call('POST', `/api/instances/Volume::${id}/action/removeVolume`, auth, { removeMode: 'ONLY_ME' })).status).to.equal(200);
    expect(await call('GET', `/api/instances/Volume::${id}`, auth)).to.deep.equal({ status: 500, json: { message: 'Could not find the volume', httpStatusCode: 500, errorCode: 79 } });
    expect(gateway.volumes.map((volume) => volume.name)).to.deep.equal(['sn-1']);
    // A removed volume's name is free again; a snapshot's name is taken.
    expect((await call('POST', '/api/types/Volume/instances/action/queryIdByKey', auth, { name: 'k8s-2' })).json).to.include({ errorCode: 79 });
    const again = (await call('POST', '/api/types/Volume/instances', auth, { name: 'k8s-2', storagePoolId: '3df6b86600000000', volumeSizeInKb: '100' })).json as { id: string };
    expect(await call('POST', '/api/types/Volume/instances/action/queryIdByKey', auth, { name: 'k8s-2' })).to.deep.equal({ status: 200, json: again.id });
    expect((await call('POST', '/api/types/Volume/instances', auth, { name: 'sn-1', storagePoolId: '3df6b86600000000', volumeSizeInKb: '100' })).json).to.include({ errorCode: 6 });
  });

  it('lists the system and pools, and pool statistics count the volumes in the pool', async () => {
    const auth = await login();
    expect((await call('GET', '/api/types/System/instances/', auth)).json).to.have.nested.property('[0].id', gateway.systemId);
    expect(((await call('GET', '/api/types/StoragePool/instances', auth)).json as { name: string }[]).map((pool) => pool.name)).to.deep.equal(['bronze', 'silver']);
    gateway.seedVolume('k8s-stat', '3df6b86600000000', 100);
    const statistics = await call('GET', '/api/instances/StoragePool::3df6b86600000000/relationships/Statistics/', auth);
    expect(statistics.json).to.include({ numOfVolumes: 1, capacityInUseInKb: 8 * GIB_IN_KIB });
  });

  it('fails the next request when told to, without executing it, and records what it saw', async () => {
    const auth = await login();
    gateway.failNext(500, 'injected');
    const failed = await call('POST', '/api/types/Volume/instances', auth, { name: 'k8s-3', storagePoolId: '3df6b86600000000', volumeSizeInKb: '8' });
    expect(failed.status).to.equal(500);
    expect(gateway.volumes).to.have.length(0);
    expect((await call('POST', '/api/types/Volume/instances', auth, { name: 'k8s-3', storagePoolId: '3df6b86600000000', volumeSizeInKb: '8' })).status).to.equal(200);
    expect(gateway.requestsTo('/api/types/Volume/instances').map((seen) => [seen.method, seen.headers.authorization])).to.deep.equal([['POST', auth], ['POST', auth]]);
  });

  it('gives every object the links goscaleio builds its URLs from, and serves them', async () => {
    const auth = await login();
    const [system] = (await call('GET', '/api/types/System/instances', auth)).json as { links: { rel: string; href: string }[] }[];
    const href = (links: { rel: string; href: string }[], rel: string) => links.find((candidate) => candidate.rel === rel)!.href;
    const statistics = await call('GET', href(system!.links, '/api/System/relationship/Statistics'), auth);
    expect(statistics.json).to.include.keys('capacityInUseInKb', 'maxCapacityInKb', 'capacityAvailableForVolumeAllocationInKb');
    const domains = (await call('GET', href(system!.links, '/api/System/relationship/ProtectionDomain'), auth)).json as { id: string }[];
    expect(domains.map((domain) => domain.id)).to.deep.equal(['75b661b400000000']);
    const [pool] = (await call('GET', '/api/types/StoragePool/instances', auth)).json as { links: { rel: string; href: string }[] }[];
    expect((await call('GET', href(pool!.links, '/api/StoragePool/relationship/Statistics'), auth)).status).to.equal(200);
    const id = gateway.seedVolume('k8s-links', '3df6b86600000000', 100);
    const volume = (await call('GET', `/api/instances/Volume::${id}`, auth)).json as Record<string, unknown> & { links: { rel: string; href: string }[] };
    expect(volume).to.include({ volumeReplicationState: 'UnmarkedForReplication', genType: 'EC' }).and.include.keys('creationTime', 'vtreeId');
    expect(href(volume.links, 'self')).to.equal(`/api/instances/Volume::${id}`);
    expect((await call('GET', href(volume.links, '/api/parent/relationship/vtreeId'), auth)).json).to.include({ baseVolumeId: id });
    expect((await call('GET', href(volume.links, '/api/Volume/relationship/Statistics'), auth)).status).to.equal(200);
  });

  it('reports system limits and grows a volume in 8 GiB units, never shrinks it', async () => {
    const auth = await login();
    const limits = (await call('POST', '/api/instances/System/action/querySystemLimits', auth, {})).json as { systemLimitEntryList: { type: string; maxVal: string }[] };
    expect(limits.systemLimitEntryList.find((entry) => entry.type === 'volumeSizeGb')?.maxVal).to.equal('1048576');
    const id = gateway.seedVolume('k8s-grow', '3df6b86600000000', 8 * GIB_IN_KIB);
    expect((await call('POST', `/api/instances/Volume::${id}/action/setVolumeSize`, auth, { sizeInGB: '9' })).status).to.equal(200);
    expect(gateway.volumes.find((volume) => volume.id === id)?.sizeInKb).to.equal(16 * GIB_IN_KIB);
    const shrink = await call('POST', `/api/instances/Volume::${id}/action/setVolumeSize`, auth, { sizeInGB: '8' });
    expect(shrink.status).to.equal(500);
    expect(gateway.volumes.find((volume) => volume.id === id)?.sizeInKb).to.equal(16 * GIB_IN_KIB);
  });

  describe('4.x', () => {
    let v4: FakePowerFlexGateway;
    let v4Dispatcher: Agent;

    beforeEach(async () => {
      v4 = await FakePowerFlexGateway.start({ version: '4.5' });
      v4Dispatcher = new Agent({ connect: { ca: v4.ca } });
    });

    afterEach(async () => {
      await v4Dispatcher.close();
      await v4.stop();
    });

    const call4 = (method: string, path: string, authorization?: string, body?: unknown) => callGateway(v4, v4Dispatcher, method, path, authorization, body);

    it('logs in with JSON credentials, takes Bearer access tokens only, and rotates refresh tokens', async () => {
      expect((await call4('POST', '/rest/auth/login', undefined, { username: 'admin', password: 'nope' })).status).to.equal(401);
      const { json } = await call4('POST', '/rest/auth/login', undefined, { username: 'admin', password: 'Password123!' });
      const tokens = json as { access_token: string; refresh_token: string; expires_in: number };
      expect(tokens.expires_in).to.equal(300);
      expect((await call4('GET', '/api/types/System/instances', `Bearer ${tokens.access_token}`)).status).to.equal(200);
      expect((await call4('GET', '/api/types/System/instances', `Basic ${Buffer.from(`:${tokens.access_token}`).toString('base64')}`)).status).to.equal(401);
      expect(await call4('GET', '/api/version', `Bearer ${tokens.access_token}`)).to.deep.equal({ status: 200, json: '4.5' });
      const refreshed = (await call4('POST', '/rest/auth/refresh', undefined, { refresh_token: tokens.refresh_token })).json as { access_token: string };
      expect((await call4('GET', '/api/types/System/instances', `Bearer ${refreshed.access_token}`)).status).to.equal(200);
      expect((await call4('POST', '/rest/auth/refresh', undefined, { refresh_token: tokens.refresh_token })).status).to.equal(401);
    });

    it('serves NAS servers, file systems and NFS exports; a file system with exports cannot be deleted', async () => {
      const { json } = await call4('POST', '/rest/auth/login', undefined, { username: 'admin', password: 'Password123!' });
      const auth = `Bearer ${(json as { access_token: string }).access_token}`;
      const [nas] = (await call4('GET', '/rest/v1/nas-servers?select=*', auth)).json as { id: string }[];
      const created = await call4('POST', '/rest/v1/file-systems', auth, { name: 'fs-1', size_total: 3 * 1024 ** 3, storage_pool_id: '3df6b86600000000', nas_server_id: nas!.id });
      expect(created.status).to.equal(201);
      const { id } = created.json as { id: string };
      expect((await call4('GET', `/rest/v1/file-systems/${id}?select=*`, auth)).json).to.include({ name: 'fs-1', size_total: 3 * 1024 ** 3 });
      const exported = (await call4('POST', '/rest/v1/nfs-exports', auth, { name: 'fs-1', file_system_id: id, path: '/fs-1' })).json as { id: string };
      expect((await call4('PATCH', `/rest/v1/nfs-exports/${exported.id}`, auth, { add_read_write_root_hosts: ['10.0.0.4/255.255.255.255'] })).status).to.equal(204);
      expect(v4.nfsExports[0]!.readWriteRootHosts).to.deep.equal(['10.0.0.4/255.255.255.255']);
      expect((await call4('DELETE', `/rest/v1/file-systems/${id}`, auth)).status).to.equal(422);
      expect((await call4('DELETE', `/rest/v1/nfs-exports/${exported.id}`, auth)).status).to.equal(204);
      expect((await call4('PATCH', `/rest/v1/file-systems/${id}`, auth, { size_total: 4 * 1024 ** 3 })).status).to.equal(204);
      expect((await call4('DELETE', `/rest/v1/file-systems/${id}`, auth)).status).to.equal(204);
      expect((await call4('GET', `/rest/v1/file-systems/${id}`, auth)).status).to.equal(404);
    });
  });
});
