import { expect } from 'chai';
import { Agent, request } from 'undici';
import { FakePowerFlexGateway, GIB_IN_KIB } from './gateway.js';

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

  async function call(method: string, path: string, authorization?: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const response = await request(`${gateway.url}${path}`, {
      method: method as 'GET', dispatcher,
      headers: { ...(authorization ? { authorization } : {}), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.body.text();
    return { status: response.statusCode, json: text === '' ? undefined : JSON.parse(text) };
  }

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
});
