import { expect } from 'chai';
import type { StorageSystem } from '../../resources/types.js';
import { sessionTag } from '../sessionTag.js';
import { ArrayLookupError } from '../types.js';
import { FakePowerFlexGateway, GIB_IN_KIB } from '../../fakes/powerflex/gateway.js';
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

  it('logs in again once when the gateway says 401, and the lookup still succeeds', async () => {
    await adapter.authorize(system, credentials);
    gateway.expireTokens();
    expect(await adapter.poolName(system, credentials, '3df6b86700000001')).to.equal('silver');
    expect(logins()).to.equal(2);
    // The listing was tried with the dead token, then once more with the new one.
    expect(gateway.requestsTo('/api/types/StoragePool/instances')).to.have.length(2);
  });

  describe('a session the array refused on a forwarded request (access log, 401)', () => {
    const tokenOf = (headers: { value: string }[]) => Buffer.from(headers[0]!.value.replace(/^Basic /, ''), 'base64').toString().slice(1);

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
    const listed = await adapter.inventory(system, credentials);
    expect(listed).to.deep.include.members([
      { id: bronze, name: 'inv-a', sizeKiB: 8 * GIB_IN_KIB, poolId: '3df6b86600000000', poolName: 'bronze' },
      { id: silver, name: 'inv-b', sizeKiB: 16 * GIB_IN_KIB, poolId: '3df6b86700000001', poolName: 'silver' },
    ]);
    expect(listed).to.have.length(gateway.volumes.length);
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

  it('answers the driver login locally and speaks PowerFlex errors', () => {
    const answer = adapter.localAnswer({ kind: 'login' });
    expect(answer?.status).to.equal(200);
    expect(JSON.parse(answer!.body)).to.be.a('string');
    expect(adapter.localAnswer({ kind: 'read' })).to.equal(undefined);
    expect(JSON.parse(adapter.errorBody(403, 'request denied').body)).to.deep.equal({ errorCode: 403, httpStatusCode: 403, message: 'request denied' });
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
    expect(response.statusCode, text).to.equal(200);
    return JSON.parse(text);
  } finally {
    await dispatcher.close();
  }
}
