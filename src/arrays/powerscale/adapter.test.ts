// The PowerScale adapter against the fake OneFS (src/fakes/powerscale): the session and CSRF flow as
// the cluster enforces it, one login for many calls, a new one after a 401, lookups of the directory a
// quota, export or snapshot stands for, the inventory, and the local session answers.
import { expect } from 'chai';
import { Agent, request } from 'undici';
import { FakeOneFs, GIB } from '../../fakes/powerscale/onefs.js';
import type { StorageSystem } from '../../resources/types.js';
import { sessionTag } from '../sessionTag.js';
import { ArrayLookupError } from '../types.js';
import { collected } from '../jsonStream.js';
import { createPowerScaleAdapter, type PowerScaleAdapter } from './adapter.js';

const CREDENTIALS = { username: 'admin', password: 'Password123!' };
const VOLUME = '/ifs/data/csi/k8s-1';

describe('PowerScale adapter against the fake OneFS', () => {
  let array: FakeOneFs;
  let adapter: PowerScaleAdapter;
  let system: StorageSystem;

  beforeEach(async () => {
    array = await FakeOneFs.start();
    array.addDirectory('/ifs/data/csi');
    adapter = createPowerScaleAdapter({ ca: array.ca, minRefusedSessionAgeMs: 0 });
    system = { name: 'isilon', type: 'powerscale', systemID: array.clusterName, endpoint: array.url, skipCertificateValidation: false, credentials: { kind: 'secret', name: 's' } };
  });

  afterEach(async () => {
    await adapter.close();
    await array.stop();
  });

  /** A call that must succeed, made with the adapter's own session headers. */
  async function call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const headers = Object.fromEntries((await adapter.authorize(system, CREDENTIALS)).map(({ name, value }) => [name, value]));
    const response = await fetchArray(array, method, path, { ...headers, ...extra }, body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).to.be.within(200, 299);
    return response.body as Record<string, unknown>;
  }

  /** The driver's directory, quota, export and snapshot. */
  async function provision(hardBytes: number): Promise<{ quotaId: string; exportId: number; snapshotId: number }> {
    await call('PUT', `/namespace${VOLUME}`, undefined, { 'x-isi-ifs-target-type': 'container' });
    const quota = await call('POST', '/platform/1/quota/quotas/', { path: VOLUME, type: 'directory', thresholds: { hard: hardBytes } });
    const nfs = await call('POST', '/platform/2/protocols/nfs/exports/?zone=System', { paths: [VOLUME] });
    const snapshot = await call('POST', '/platform/1/snapshot/snapshots/', { name: 'snap-1', path: VOLUME });
    return { quotaId: quota.id as string, exportId: nfs.id as number, snapshotId: snapshot.id as number };
  }

  it('logs in once (201, isisessid + isicsrf) for many calls, with the CSRF token and Referer mutations need', async () => {
    await provision(2 * GIB);
    for (let i = 0; i < 5; i += 1) await adapter.findVolume(system, CREDENTIALS, VOLUME);
    expect(array.logins).to.equal(1);
    const headers = await adapter.authorize(system, CREDENTIALS);
    expect(headers.map((header) => header.name).sort()).to.deep.equal(['cookie', 'referer', 'x-csrf-token']);
    // The cluster's own rule: a mutation with the cookie alone is refused.
    const cookieOnly = { cookie: headers.find((header) => header.name === 'cookie')!.value };
    expect((await fetchArray(array, 'PUT', '/namespace/ifs/data/csi/k8s-2', { ...cookieOnly, 'x-isi-ifs-target-type': 'container' })).status).to.equal(401);
    expect(array.hasDirectory('/ifs/data/csi/k8s-2')).to.equal(false);
  });

  it('looks up the directory a quota, export or snapshot stands for; a quota is charged its hard threshold', async () => {
    const { quotaId, exportId, snapshotId } = await provision(3 * GIB);
    array.setUsage(VOLUME, GIB + 1);
    // A hard threshold may be lowered to what the directory holds, in whole KiB rounded up.
    expect(await adapter.volume(system, CREDENTIALS, `quota:${quotaId}`)).to.deep.equal({
      id: `quota:${VOLUME}`, name: `quota:${VOLUME}`, sizeKiB: 3 * 1024 * 1024, poolId: '/ifs/data/csi', poolName: '/ifs/data/csi', shrinkableToKiB: 1024 * 1024 + 1,
    });
    const directory = { id: VOLUME, name: VOLUME, sizeKiB: 1, poolId: '/ifs/data/csi', poolName: '/ifs/data/csi' };
    expect(await adapter.volume(system, CREDENTIALS, `export:${exportId}`)).to.deep.equal(directory);
    expect(await adapter.volume(system, CREDENTIALS, `snapshot:${snapshotId}`)).to.deep.equal(directory);
    expect(await adapter.findVolume(system, CREDENTIALS, `quota:${VOLUME}`)).to.include({ sizeKiB: 3 * 1024 * 1024 });
    expect(await adapter.findVolume(system, CREDENTIALS, '/ifs/data/csi/absent')).to.equal(undefined);
    expect(await adapter.findVolume(system, CREDENTIALS, 'quota:/ifs/data/csi/absent')).to.equal(undefined);
    const missing = await adapter.volume(system, CREDENTIALS, 'export:999').catch((error: unknown) => error);
    expect(missing).to.be.instanceOf(ArrayLookupError).and.to.include({ status: 404 });
    expect(await collected(adapter.inventory(system, CREDENTIALS))).to.deep.equal([directory, { ...directory, id: `quota:${VOLUME}`, name: `quota:${VOLUME}`, sizeKiB: 3 * 1024 * 1024 }]);
  });

  it('says a directory without a hard quota is unbounded, and lists quota-less directories of the pools it is given', async () => {
    await call('PUT', `/namespace${VOLUME}`, undefined, { 'x-isi-ifs-target-type': 'container' });
    await call('PUT', '/namespace/ifs/data/csi/k8s-2', undefined, { 'x-isi-ifs-target-type': 'container' });
    await call('POST', '/platform/1/quota/quotas/', { path: '/ifs/data/csi/k8s-2', type: 'directory', thresholds: { hard: GIB } });
    const unbounded = { id: VOLUME, name: VOLUME, sizeKiB: 1, poolId: '/ifs/data/csi', poolName: '/ifs/data/csi', unbounded: true };
    expect(await adapter.volume(system, CREDENTIALS, `directory:${VOLUME}`)).to.deep.equal(unbounded);
    expect(await adapter.volume(system, CREDENTIALS, 'directory:/ifs/data/csi/k8s-2')).to.not.have.property('unbounded');
    const bounded = { id: '/ifs/data/csi/k8s-2', name: '/ifs/data/csi/k8s-2', sizeKiB: 1, poolId: '/ifs/data/csi', poolName: '/ifs/data/csi' };
    const quota = { ...bounded, id: 'quota:/ifs/data/csi/k8s-2', name: 'quota:/ifs/data/csi/k8s-2', sizeKiB: 1024 * 1024 };
    // Without pools only what has a quota is seen; with the roles' isiPaths every directory in them.
    expect(await collected(adapter.inventory(system, CREDENTIALS))).to.deep.equal([bounded, quota]);
    expect(await collected(adapter.inventory(system, CREDENTIALS, ['/ifs/data/csi', '/ifs/data/absent']))).to.deep.equal([bounded, quota, unbounded]);
  });

  it('logs in again after the cluster ends the session (401), and drops a forwarded request\'s refused session', async () => {
    await provision(GIB);
    const before = sessionTag(await adapter.authorize(system, CREDENTIALS));
    array.dropSessions();
    expect(await adapter.findVolume(system, CREDENTIALS, VOLUME)).to.include({ name: VOLUME });
    expect(array.logins).to.equal(2);
    const current = sessionTag(await adapter.authorize(system, CREDENTIALS));
    expect(current).to.not.equal(before);
    expect(adapter.credentialsRejected!(system, before)).to.equal(false);
    expect(adapter.credentialsRejected!(system, current)).to.equal(true);
  });

  it('fails closed on wrong credentials: 502 naming the cluster, never a session', async () => {
    const error = await adapter.findVolume(system, { username: 'admin', password: 'wrong' }, VOLUME).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ArrayLookupError).and.to.include({ status: 502 });
    expect((error as Error).message).to.contain(array.clusterName);
  });

  it('answers the driver\'s session calls locally in the shape gopowerscale parses', () => {
    const login = adapter.localAnswer({ kind: 'login' }, '/session/1/session/')!;
    expect(login.status).to.equal(201);
    expect(login.headers.filter((h) => h.name === 'set-cookie').map((h) => h.value.split(';')[0])).to.deep.equal(['isisessid=hellofromkaravi', 'isicsrf=hellofromkaravi']);
    expect(adapter.localAnswer({ kind: 'read' }, '/platform/latest/')).to.equal(undefined);
    expect(JSON.parse(adapter.errorBody(507, 'not enough quota').body)).to.deep.equal({ errors: [{ code: 'AEC_AUTHZ_507', message: 'not enough quota' }] });
  });
});

async function fetchArray(array: FakeOneFs, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: unknown }> {
  const dispatcher = new Agent({ connect: { ca: array.ca } });
  try {
    const response = await request(`${array.url}${path}`, {
      method: method as 'GET', headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body), dispatcher,
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  } finally {
    await dispatcher.close();
  }
}
