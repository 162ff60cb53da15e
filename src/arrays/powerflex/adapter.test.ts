import { expect } from 'chai';
import type { StorageSystem } from '../../resources/types.js';
import { sessionTag } from '../sessionTag.js';
import { ArrayLookupError } from '../types.js';
import { collected } from '../jsonStream.js';
import { FakePowerFlexGateway, GIB_IN_KIB } from '../../fakes/powerflex/gateway.js';
import { waitFor } from '../../harness/wait.js';
import { createPowerFlexAdapter, type PowerFlexAdapter } from './adapter.js';

const credentials = { username: 'admin', password: 'Password123!' };

async function rejection(promise: Promise<unknown>): Promise<ArrayLookupError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(ArrayLookupError);
    return error as ArrayLookupError;
  }
  throw new Error('expected the lookup to fail');
}

describe('powerflex adapter (against the fake gateway)', () => {
  let gateway: FakePowerFlexGateway;
  let adapter: PowerFlexAdapter;
  let system: StorageSystem;
  let clock: number;

  beforeEach(async () => {
    gateway = await FakePowerFlexGateway.start();
    clock = Date.now();
    adapter = createPowerFlexAdapter({ ca: gateway.ca, tokenMaxAgeMs: 60_000, now: () => clock });
    system = {
      name: 'pflex', type: 'powerflex', systemID: gateway.systemId, endpoint: gateway.url,
      skipCertificateValidation: false, credentials: { kind: 'secret', name: 'pflex-creds' },
    };
  });

  afterEach(async () => {
    await adapter.close();
    await gateway.stop();
  });

  const logins = () => gateway.requestsTo('/api/login').length;

  it('forwards with the gateway token it obtained, logging in once for concurrent requests', async () => {
    const headers = await Promise.all(Array.from({ length: 10 }, () => adapter.authorize(system, credentials)));
    expect(logins()).to.equal(1);
    const token = Buffer.from(headers[0]![0]!.value.replace(/^Basic /, ''), 'base64').toString();
    expect(headers[0]![0]!.name).to.equal('authorization');
    expect(gateway.issuedTokens.map((issued) => `:${issued}`)).to.include(token);
    expect(new Set(headers.map((set) => set[0]!.value)).size).to.equal(1);
  });

  it('logs in again before the token ages out', async () => {
    const first = await adapter.authorize(system, credentials);
    clock += 61_000;
    const second = await adapter.authorize(system, credentials);
    expect(logins()).to.equal(2);
    expect(second[0]!.value).to.not.equal(first[0]!.value);
  });

  it("renews in the background near the end of a token's life, so no request waits for that login", async () => {
    const first = (await adapter.authorize(system, credentials))[0]!.value;
    clock += 55_000; // past 90% of the 60 s age
    const renewal = gateway.hold((request) => request.path.startsWith('/api/login'));
    // Answered with the current token while the renewing login is held at the gateway.
    const during = await Promise.all(Array.from({ length: 10 }, () => adapter.authorize(system, credentials)));
    expect(new Set(during.map((headers) => headers[0]!.value))).to.deep.equal(new Set([first]));
    await waitFor(() => renewal.received === 1, 'the renewing login at the gateway');
    renewal.release();
    await waitFor(async () => (await adapter.authorize(system, credentials))[0]!.value !== first, 'the renewed token in use');
    expect(logins()).to.equal(2);
  });

  it('logs in again once when the gateway says 401, and the lookup still succeeds', async () => {
    await adapter.authorize(system, credentials);
    gateway.expireTokens();
    expect(await adapter.poolName(system, credentials, '3df6b86700000001')).to.equal('silver');
    expect(logins()).to.equal(2);
    // The listing was tried with the dead token, then once more with the new one.
    expect(gateway.requestsTo('/api/types/StoragePool/instances')).to.have.length(2);
  });

  describe('a session the array refused on a forwarded request (access log, 401)', () => {
    const tokenOf = (headers: readonly { value: string }[]) => Buffer.from(headers[0]!.value.replace(/^Basic /, ''), 'base64').toString().slice(1);

    it('is dropped when the tag is of the current session: the next requests log in once, concurrently', async () => {
      const refused = await adapter.authorize(system, credentials);
      clock += 1_000;
      expect(adapter.credentialsRejected!(system, sessionTag(refused))).to.equal(true);
      const renewed = await Promise.all(Array.from({ length: 5 }, () => adapter.authorize(system, credentials)));
      expect(logins()).to.equal(2);
      expect(new Set(renewed.map((headers) => headers[0]!.value))).to.have.property('size', 1);
      expect(renewed[0]![0]!.value).to.not.equal(refused[0]!.value);
    });

    it('is not the session a late report names once a newer one is current', async () => {
      const refused = await adapter.authorize(system, credentials);
      clock += 1_000;
      adapter.credentialsRejected!(system, sessionTag(refused));
      const current = await adapter.authorize(system, credentials);
      clock += 1_000;
      // Entries of other requests forwarded with the refused token arrive after the renewal.
      expect(adapter.credentialsRejected!(system, sessionTag(refused))).to.equal(false);
      expect(await adapter.authorize(system, credentials)).to.deep.equal(current);
      expect(logins()).to.equal(2);
    });

    it('is kept while younger than a second, so a path the array always refuses cannot make every request a login', async () => {
      const headers = await adapter.authorize(system, credentials);
      expect(adapter.credentialsRejected!(system, sessionTag(headers))).to.equal(false);
      expect(await adapter.authorize(system, credentials)).to.deep.equal(headers);
      expect(logins()).to.equal(1);
    });

    it('is recognised by a tag that is not the token and does not contain it', async () => {
      const headers = await adapter.authorize(system, credentials);
      const tag = sessionTag(headers);
      expect(tag).to.match(/^[0-9a-f]{16}$/);
      expect(tokenOf(headers)).to.not.include(tag).and.not.equal('');
      expect(headers[0]!.value).to.not.include(tag);
      clock += 1_000;
      expect(adapter.credentialsRejected!(system, 'not-the-session')).to.equal(false);
      expect(adapter.credentialsRejected!({ ...system, systemID: 'other' }, tag)).to.equal(false);
      expect(adapter.credentialsRejected!(system, tag)).to.equal(true);
    });
  });

  it('does not retry a failed login until a while has passed or the credentials change', async () => {
    const wrong = { username: 'admin', password: 'Wrong-1' };
    for (let attempt = 0; attempt < 3; attempt++) expect((await rejection(adapter.authorize(system, wrong))).status).to.equal(502);
    expect(logins()).to.equal(1);
    clock += 5_000;
    await rejection(adapter.authorize(system, wrong));
    expect(logins()).to.equal(2);
    await adapter.authorize(system, credentials);
    expect(logins()).to.equal(3);
  });

  it('takes a rotated credential without a restart, and never reports the password', async () => {
    await adapter.authorize(system, credentials);
    gateway.setCredentials('admin', 'Rotated-456');
    const stale = await rejection(adapter.authorize(system, { username: 'admin', password: 'Stale-123' }));
    expect(stale.status).to.equal(502);
    expect(stale.message).to.match(/login to PowerFlex system 542a2d5f5122210f failed: HTTP 401/).and.not.include('Stale-123');
    await adapter.authorize(system, { username: 'admin', password: 'Rotated-456' });
    expect(logins()).to.equal(3);
  });

  it('resolves pool names with one pool listing and rejects an unknown pool with 400', async () => {
    expect(await adapter.poolName(system, credentials, '3df6b86600000000')).to.equal('bronze');
    expect(await adapter.poolName(system, credentials, '3df6b86700000001')).to.equal('silver');
    expect(gateway.requestsTo('/api/types/StoragePool/instances')).to.have.length(1);
    const unknown = await rejection(adapter.poolName(system, credentials, 'ffff000000000000'));
    expect(unknown.status).to.equal(400);
    expect(unknown.message).to.equal('unknown storage pool id "ffff000000000000" on PowerFlex system 542a2d5f5122210f');
  });

  describe('pool names under load', () => {
    const listings = () => gateway.requestsTo('/api/types/StoragePool/instances').length;
    const isListing = (request: { path: string }) => request.path.startsWith('/api/types/StoragePool/instances');

    it('lists the pools once for every create that misses the name while the listing is in flight', async () => {
      const listing = gateway.hold(isListing);
      const names = Promise.all(Array.from({ length: 100 }, () => adapter.poolName(system, credentials, '3df6b86600000000')));
      await waitFor(() => listing.received === 1, 'the pool listing at the gateway');
      listing.release();
      expect(new Set(await names)).to.deep.equal(new Set(['bronze']));
      expect(listings()).to.equal(1);
    });

    it('answers with an expired name at once while one listing refreshes it', async () => {
      expect(await adapter.poolName(system, credentials, '3df6b86600000000')).to.equal('bronze');
      clock += 61_000;
      const refresh = gateway.hold(isListing);
      // Every lookup answers while the refresh is still held at the gateway.
      expect(new Set(await Promise.all(Array.from({ length: 100 }, () => adapter.poolName(system, credentials, '3df6b86600000000'))))).to.deep.equal(new Set(['bronze']));
      await waitFor(() => refresh.received === 1, 'the refreshing pool listing at the gateway');
      refresh.release();
      await waitFor(() => refresh.inFlight === 0, 'the refresh answered');
      expect(listings()).to.equal(2);
    });
  });

  it('looks a volume up by id, cached, and reports a missing one with the array status and message', async () => {
    const token = (await adapter.authorize(system, credentials))[0]!.value;
    const created = await fetchGateway(gateway, token, 'POST', '/api/types/Volume/instances', {
      name: 'k8s-0fc0695995', storagePoolId: '3df6b86600000000', volumeSizeInKb: String(8 * GIB_IN_KIB), volumeType: 'ThinProvisioned',
    });
    const { id } = created as { id: string };
    const expected = { id, name: 'k8s-0fc0695995', sizeKiB: 8 * GIB_IN_KIB, poolId: '3df6b86600000000', poolName: 'bronze' };
    expect(await adapter.volume(system, credentials, id)).to.deep.equal(expected);
    expect(await adapter.volume(system, credentials, id)).to.deep.equal(expected);
    expect(gateway.requestsTo(`/api/instances/Volume::${id}`)).to.have.length(1);
    // Grown behind the cache: a fresh lookup (what size-charged operations use) sees the new size.
    await fetchGateway(gateway, token, 'POST', `/api/instances/Volume::${id}/action/setVolumeSize`, { sizeInGB: '16' });
    expect(await adapter.volume(system, credentials, id, { fresh: true })).to.deep.equal({ ...expected, sizeKiB: 16 * GIB_IN_KIB });
    const missing = await rejection(adapter.volume(system, credentials, 'abcdef0000000000'));
    expect([missing.status, missing.message]).to.deep.equal([500, 'Could not find the volume']);
  });

  it('finds a volume by name as the array has it now (queryIdByKey), or nothing', async () => {
    const token = (await adapter.authorize(system, credentials))[0]!.value;
    await fetchGateway(gateway, token, 'POST', '/api/types/Volume/instances', { name: 'k8s-a', storagePoolId: '3df6b86600000000', volumeSizeInKb: '8' });
    expect(await adapter.findVolume(system, credentials, 'k8s-a')).to.deep.include({ name: 'k8s-a', sizeKiB: 8 * GIB_IN_KIB, poolName: 'bronze' });
    expect(await adapter.findVolume(system, credentials, 'k8s-b')).to.equal(undefined);
  });

  it('lists every volume of the system with its size and pool name (inventory)', async () => {
    const bronze = gateway.seedVolume('inv-a', '3df6b86600000000', 8 * GIB_IN_KIB);
    const silver = gateway.seedVolume('inv-b', '3df6b86700000001', 9 * GIB_IN_KIB);
    const listed = await collected(adapter.inventory(system, credentials));
    expect(listed).to.deep.include.members([
      { id: bronze, name: 'inv-a', sizeKiB: 8 * GIB_IN_KIB, poolId: '3df6b86600000000', poolName: 'bronze' },
      { id: silver, name: 'inv-b', sizeKiB: 16 * GIB_IN_KIB, poolId: '3df6b86700000001', poolName: 'silver' },
    ]);
    expect(listed).to.have.length(gateway.volumes.length);
  });

  it('lists the inventory after the gateway dropped the session (401, log in again), leaving no error behind', async () => {
    const named = gateway.seedVolume('inv-after-401', '3df6b86600000000', 8 * GIB_IN_KIB);
    await adapter.authorize(system, credentials);
    gateway.expireTokens();
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      const listed = await collected(adapter.inventory(system, credentials));
      expect(listed.map((volume) => volume.id)).to.include(named);
      // The refused listing's body is dropped after the next macrotask at the latest; an error it raised would be seen by then.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('uncaughtException', record);
    }
    expect(uncaught).to.deep.equal([]);
    expect(logins()).to.equal(2);
    expect(gateway.requestsTo('/api/types/Volume/instances')).to.have.length(2);
  });

  it('verifies the gateway certificate unless the Storage says skipCertificateValidation', async () => {
    const untrusting = createPowerFlexAdapter();
    try {
      const unverified = await rejection(untrusting.authorize(system, credentials));
      expect(unverified.status).to.equal(502);
      expect(unverified.message).to.match(/unreachable/);
      expect(await untrusting.authorize({ ...system, skipCertificateValidation: true }, credentials)).to.have.length(1);
    } finally {
      await untrusting.close();
    }
  });

  it("answers the driver's logins locally, 3.x as Dell does byte for byte, 4.x as a token pair, and speaks PowerFlex errors", () => {
    const answer = adapter.localAnswer({ kind: 'login' }, '/api/login/');
    expect(answer).to.deep.include({ status: 200, body: 'hellofromkaravi' });
    const oauth = adapter.localAnswer({ kind: 'login' }, '/rest/auth/login/');
    expect(oauth?.status).to.equal(200);
    expect(JSON.parse(oauth!.body)).to.include({ access_token: 'hellofromkaravi', refresh_token: 'hellofromkaravi' });
    expect(adapter.localAnswer({ kind: 'read' }, '/api/version/')).to.equal(undefined);
    expect(JSON.parse(adapter.errorBody(403, 'request denied').body)).to.deep.equal({ errorCode: 403, httpStatusCode: 403, message: 'request denied' });
  });
});

describe('powerflex adapter against a 4.x gateway', () => {
  let gateway: FakePowerFlexGateway;
  let adapter: PowerFlexAdapter;
  let system: StorageSystem;
  let clock: number;

  beforeEach(async () => {
    // Access tokens live 10 s, refresh tokens 60 s: renewal times are the adapter's clock.
    gateway = await FakePowerFlexGateway.start({ version: '4.5', tokenTtlMs: 10_000, refreshTokenTtlMs: 60_000 });
    clock = Date.now();
    adapter = createPowerFlexAdapter({ ca: gateway.ca, now: () => clock });
    system = {
      name: 'pflex4', type: 'powerflex', systemID: gateway.systemId, endpoint: gateway.url,
      skipCertificateValidation: false, credentials: { kind: 'secret', name: 'pflex-creds' },
    };
  });

  afterEach(async () => {
    await adapter.close();
    await gateway.stop();
  });

  const oauthLogins = () => gateway.requestsTo('/rest/auth/login').length;
  const refreshes = () => gateway.requestsTo('/rest/auth/refresh').length;

  it('logs in the 4.x way and forwards the access token as Bearer', async () => {
    const [header] = await adapter.authorize(system, credentials);
    expect(header!.value).to.match(/^Bearer /);
    expect(gateway.issuedTokens).to.include(header!.value.replace(/^Bearer /, ''));
    expect(oauthLogins()).to.equal(1);
    expect(gateway.requestsTo('/api/login')).to.have.length(0);
    expect(JSON.parse(gateway.requestsTo('/rest/auth/login')[0]!.body)).to.deep.equal(credentials);
    expect(await adapter.poolName(system, credentials, '3df6b86600000000')).to.equal('bronze');
  });

  it('renews with the refresh token before the access token expires, and logs in again once the refresh token is too old', async () => {
    const first = await adapter.authorize(system, credentials);
    clock += 7_000; // within the access token's 10 s
    expect(await adapter.authorize(system, credentials)).to.deep.equal(first);
    clock += 1_500; // past 80 % of its life: refreshed, not logged in again
    const refreshed = await adapter.authorize(system, credentials);
    expect(refreshed[0]!.value).to.not.equal(first[0]!.value);
    expect([oauthLogins(), refreshes()]).to.deep.equal([1, 1]);
    expect(await adapter.poolName(system, credentials, '3df6b86700000001')).to.equal('silver');
    clock += 60_000; // the refresh token (60 s) is past its renewal point too
    await adapter.authorize(system, credentials);
    expect([oauthLogins(), refreshes()]).to.deep.equal([2, 1]);
  });

  it('reads 4.x file systems and NFS exports as volumes of their pool', async () => {
    const [header] = await adapter.authorize(system, credentials);
    const created = await fetchGateway(gateway, header!.value, 'POST', '/rest/v1/file-systems', {
      name: 'k8s-nfs-1', size_total: 8 * GIB_IN_KIB * 1024, storage_pool_id: '3df6b86600000000', nas_server_id: '64132f37-d33e-9d8c-9f12-9e5b3d4c2a10',
    }) as { id: string };
    const exported = await fetchGateway(gateway, header!.value, 'POST', '/rest/v1/nfs-exports', { name: 'k8s-nfs-1', file_system_id: created.id, path: '/k8s-nfs-1' }) as { id: string };
    const expected = { name: 'k8s-nfs-1', sizeKiB: 8 * GIB_IN_KIB, poolId: '3df6b86600000000', poolName: 'bronze' };
    expect(await adapter.volume(system, credentials, `file-system:${created.id}`)).to.deep.include(expected);
    expect(await adapter.volume(system, credentials, `nfs-export:${exported.id}`)).to.deep.include(expected);
    expect(await adapter.findVolume(system, credentials, 'k8s-nfs-1')).to.deep.equal({ id: `file-system:${created.id}`, ...expected });
    expect(await adapter.findVolume(system, credentials, 'k8s-nfs-2')).to.equal(undefined);
    expect((await collected(adapter.inventory(system, credentials))).map((volume) => volume.id)).to.deep.equal([`file-system:${created.id}`]);
  });

  it('does not fall back to a 3.x login once the endpoint is known to be 4.x', async () => {
    await adapter.authorize(system, credentials);
    gateway.expireTokens();
    const wrong = { username: 'admin', password: 'Wrong-1' };
    expect((await rejection(adapter.authorize(system, wrong))).message).to.match(/HTTP 401 Invalid user credentials/);
    expect(gateway.requestsTo('/api/login')).to.have.length(0);
  });
});

/** Drives the fake directly (as the array itself would be driven), trusting its CA. */
async function fetchGateway(gateway: FakePowerFlexGateway, authorization: string, method: string, path: string, body: unknown): Promise<unknown> {
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connect: { ca: gateway.ca } });
  try {
    const response = await request(`${gateway.url}${path}`, {
      method: method as 'POST', dispatcher, headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const text = await response.body.text();
    expect(response.statusCode, text).to.be.within(200, 201);
    return text === '' ? undefined : JSON.parse(text);
  } finally {
    await dispatcher.close();
  }
}
