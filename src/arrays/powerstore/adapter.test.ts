// The PowerStore adapter against the fake PowerStore (src/fakes/powerstore): the login and CSRF
// flow as the array enforces it, session reuse and renewal, lookups, inventory, local answers.
import { expect } from 'chai';
import { Agent, request } from 'undici';
import { FakePowerStore, GIB } from '../../fakes/powerstore/array.js';
import type { StorageSystem } from '../../resources/types.js';
import { sessionTag } from '../sessionTag.js';
import { ArrayLookupError } from '../types.js';
import { collected } from '../jsonStream.js';
import { createPowerStoreAdapter, type PowerStoreAdapter } from './adapter.js';

const CREDENTIALS = { username: 'admin', password: 'Password123!' };
const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

describe('PowerStore adapter against the fake PowerStore', () => {
  let array: FakePowerStore;
  let adapter: PowerStoreAdapter;
  let system: StorageSystem;
  let clock: number;
  let tls: Agent;

  /** A direct call to the fake as gopowerstore makes it (for set-up and for the array's own rules). */
  async function direct(method: string, path: string, headers: Record<string, string>, body?: unknown) {
    const response = await request(`${array.url}${path}`, {
      method: method as 'GET', headers: { accept: 'application/json', 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body), dispatcher: tls,
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }

  async function session(): Promise<Record<string, string>> {
    const login = await direct('GET', '/api/rest/login_session', { authorization: basic(CREDENTIALS.username, CREDENTIALS.password) });
    return { cookie: String(login.headers['set-cookie']).split(';')[0]!, 'dell-emc-token': String(login.headers['dell-emc-token']) };
  }

  beforeEach(async () => {
    array = await FakePowerStore.start({ idleTimeoutMs: 60_000 });
    tls = new Agent({ connect: { ca: array.ca } });
    clock = 1_000_000;
    adapter = createPowerStoreAdapter({ ca: array.ca, now: () => clock });
    system = { name: 'ps', type: 'powerstore', systemID: array.systemId, endpoint: array.url, skipCertificateValidation: false, credentials: { kind: 'secret', name: 's' } };
  });

  afterEach(async () => {
    await adapter.close();
    await tls.close();
    await array.stop();
  });

  it('refuses as the array does: no credentials 401, a mutation without the session\'s DELL-EMC-TOKEN 403', async () => {
    expect((await direct('GET', '/api/rest/volume', {})).status).to.equal(401);
    expect((await direct('GET', '/api/rest/volume', { authorization: basic('admin', 'wrong') })).status).to.equal(401);
    const { cookie } = await session();
    const refused = await direct('POST', '/api/rest/volume', { cookie: cookie! }, { name: 'x', size: GIB });
    expect(refused.status).to.equal(403);
    expect(refused.body).to.have.nested.property('messages[0].severity', 'Error');
    expect(array.allVolumes).to.deep.equal([]);
  });

  it('logs in once, forwards the session cookie and CSRF token, and renews before the idle timeout the login reported', async () => {
    const headers = await adapter.authorize(system, CREDENTIALS);
    expect(headers.map((header) => header.name).sort()).to.deep.equal(['cookie', 'dell-emc-token']);
    const asObject = Object.fromEntries(headers.map((header) => [header.name, header.value]));
    // The forwarded headers are a live session on the array: a mutation goes through with them.
    expect((await direct('POST', '/api/rest/volume', asObject, { name: 'v1', size: 8 * GIB })).status).to.equal(201);
    expect(await adapter.authorize(system, CREDENTIALS)).to.deep.equal(headers);
    expect(array.logins).to.equal(1);
    // idle_timeout 60 s, renewed a minute early but at most half of it: after 30 s unused, a new login.
    clock += 29_000;
    expect(await adapter.authorize(system, CREDENTIALS)).to.deep.equal(headers);
    clock += 30_001;
    expect(await adapter.authorize(system, CREDENTIALS)).to.not.deep.equal(headers);
    expect(array.logins).to.equal(2);
  });

  it('drops the session the array refused (access log 401 with its tag), once it is a second old', async () => {
    const headers = await adapter.authorize(system, CREDENTIALS);
    expect(adapter.credentialsRejected!(system, sessionTag(headers))).to.equal(false); // too young
    clock += 1_000;
    expect(adapter.credentialsRejected!(system, 'not-this-session')).to.equal(false);
    expect(adapter.credentialsRejected!(system, sessionTag(headers))).to.equal(true);
    expect(await adapter.authorize(system, CREDENTIALS)).to.not.deep.equal(headers);
    expect(array.logins).to.equal(2);
  });

  it('fails a login with wrong credentials as 502, without retrying it under load', async () => {
    const wrong = { username: 'admin', password: 'wrong' };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const error = await adapter.authorize(system, wrong).catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(ArrayLookupError).and.include({ status: 502 });
    }
    expect(array.requests.filter((seen) => seen.path === '/api/rest/login_session')).to.have.length(1);
  });

  it('looks up volumes, file systems and exports (an export stands for its file system), finds by name, lists the inventory', async () => {
    const headers = await session();
    const volume = (await direct('POST', '/api/rest/volume', headers, { name: 'vol-1', size: 8 * GIB + 1 })).body as { id: string };
    const fs = (await direct('POST', '/api/rest/file_system', headers, { name: 'fs-1', nas_server_id: array.nasServer.id, size_total: 3 * GIB })).body as { id: string };
    const nfsExport = (await direct('POST', '/api/rest/nfs_export', headers, { name: 'fs-1', file_system_id: fs.id, path: '/fs-1' })).body as { id: string };
    const onSystem = { poolId: array.systemId, poolName: array.systemId };

    expect(await adapter.volume(system, CREDENTIALS, `volume/${volume.id}`)).to.deep.equal({ id: volume.id, name: 'vol-1', sizeKiB: 8 * 1024 ** 2 + 1, ...onSystem });
    const fsInfo = { id: fs.id, name: 'fs-1', sizeKiB: 3 * 1024 ** 2, ...onSystem };
    expect(await adapter.volume(system, CREDENTIALS, `file_system/${fs.id}`)).to.deep.equal(fsInfo);
    expect(await adapter.volume(system, CREDENTIALS, `nfs_export/${nfsExport.id}`)).to.deep.equal(fsInfo);
    expect(await adapter.findVolume(system, CREDENTIALS, 'fs-1')).to.deep.equal(fsInfo);
    expect(await adapter.findVolume(system, CREDENTIALS, 'nothing')).to.equal(undefined);
    expect((await collected(adapter.inventory(system, CREDENTIALS))).map((info) => info.name).sort()).to.deep.equal(['fs-1', 'vol-1']);
    expect(await adapter.poolName(system, CREDENTIALS, '')).to.equal(array.systemId);

    const missing = await adapter.volume(system, CREDENTIALS, 'volume/5a5a5a5a-0000-4000-8000-000000000000').catch((caught: unknown) => caught);
    expect(missing).to.be.instanceOf(ArrayLookupError).and.include({ status: 404 });
    expect((missing as Error).message).to.match(/Could not find the volume with ID/);
  });

  it('answers the driver login locally with the cookie and CSRF header gopowerstore needs, and speaks PowerStore errors', () => {
    const answer = adapter.localAnswer({ kind: 'login' }, '/api/rest/login_session')!;
    expect(answer.status).to.equal(200);
    const names = answer.headers.map((header) => header.name);
    expect(names).to.include.members(['dell-emc-token', 'set-cookie']);
    expect(answer.headers.find((header) => header.name === 'set-cookie')!.value).to.match(/^auth_cookie=hellofromkaravi;/);
    expect(JSON.parse(answer.body)).to.be.an('array').with.nested.property('[0].id');
    expect(adapter.localAnswer({ kind: 'read' }, '/api/rest/volume')).to.equal(undefined);
    const error = adapter.errorBody(507, 'not enough quota');
    expect(JSON.parse(error.body)).to.deep.equal({ messages: [{ code: '0xE0AA000001FB', severity: 'Error', message_l10n: 'not enough quota', arguments: [] }] });
  });
});
