// karavictl (v1) managing our server over Dell's REST surface (reference §1.3, §6.4): its exact
// requests — paths as it sends them (some without the trailing slash), JSON bodies, query
// parameters — create, list, update and delete tenants, roles, role bindings and storage, written
// through authzctl's object store into the resources directory the service loads. Each step checks
// the objects (and credential files) on disk; refusals change nothing.
import { expect } from 'chai';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { MemoryLedger } from '../src/ledger/memory/memoryLedger.js';
import { DirectoryResources } from '../src/resources/directory.js';
import { readResourceDirectory } from '../src/resources/load.js';
import { ResourceStore } from '../src/cli/resourceStore.js';
import { silentLogger } from '../src/telemetry/log.js';
import { loadSigningKeys } from '../src/tokens/keys.js';
import { mintTokenPair, type TokenPair } from '../src/tokens/mint.js';
import type { SigningKeySet } from '../src/tokens/types.js';
import { TokenVerifier } from '../src/tokens/verify.js';
import { ADMIN_FIXTURE, writeFixtureDirs, type FixtureDirs } from './support/adminFixtures.js';
import { startAdminApi, type RunningAdminApi } from './support/adminApi.js';

const SID = ADMIN_FIXTURE.systemID;

describe("karavictl's management requests (Dell v1 REST) against the admin API", function () {
  let dir: string;
  let dirs: FixtureDirs;
  let keys: SigningKeySet;
  let resources: DirectoryResources;
  let api: RunningAdminApi;
  let agent: Agent;
  let admin: TokenPair;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), 'management-api-'));
    dirs = await writeFixtureDirs(dir);
    keys = await loadSigningKeys(dirs.keysDir, ADMIN_FIXTURE.kid);
    resources = await DirectoryResources.open(dirs.resourcesDir, { secretsDir: dirs.secretsDir, logger: silentLogger });
    api = await startAdminApi({
      resources, ledger: new MemoryLedger(), verifier: new TokenVerifier({ keys: () => keys }), keys: () => keys, logger: silentLogger,
      objects: { open: () => ResourceStore.open(dirs.resourcesDir), secretsDir: dirs.secretsDir },
    });
    agent = new Agent({ connect: { ca: api.caPem } });
    admin = await mintTokenPair({ keys, subject: 'csm-admin', group: 'admin', roles: [], accessTtlSeconds: 600, refreshTtlSeconds: 3600 });
  });

  after(async function () {
    await agent?.close();
    await api?.close();
    resources?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** One karavictl request: `Authorization: Bearer <admin access>`, JSON body when it sends one. */
  async function karavictl(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', target: string, body?: unknown, token = admin.access) {
    const response = await request(`${api.url}${target}`, {
      method, dispatcher: agent,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.body.text();
    return { status: response.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  }

  /** The objects in the resources directory now: {kind/name: spec}. */
  async function onDisk(): Promise<Record<string, Record<string, unknown>>> {
    const { objects, errors } = await readResourceDirectory(dirs.resourcesDir);
    expect(errors).to.deep.equal([]);
    return Object.fromEntries(objects.map((o) => [`${o.object.kind}/${o.object.name}`, (o.document as { spec: Record<string, unknown> }).spec]));
  }

  const decode = (value: unknown) => JSON.parse(Buffer.from(String(value), 'base64').toString('utf8')) as unknown;

  it('storage create / get / list / update / delete', async function () {
    const create = { StorageType: 'powerflex', Endpoint: 'https://10.0.0.9', SystemId: '1a2b3c4d5e6f7081', Username: 'svc-admin', Password: 'Flex-Passw0rd-9', Insecure: true };
    expect(await karavictl('POST', '/proxy/storage/', create)).to.deep.equal({ status: 201, json: undefined });
    expect((await onDisk())['Storage/powerflex-1a2b3c4d5e6f7081']).to.deep.equal({
      type: 'powerflex', endpoint: 'https://10.0.0.9', systemID: '1a2b3c4d5e6f7081', skipCertificateValidation: true,
      storageSystemCredentials: { secret: 'powerflex-1a2b3c4d5e6f7081-credentials' },
    });
    const secret = path.join(dirs.secretsDir, 'powerflex-1a2b3c4d5e6f7081-credentials');
    expect(await readFile(path.join(secret, 'username'), 'utf8')).to.equal('svc-admin');
    expect(await readFile(path.join(secret, 'password'), 'utf8')).to.equal('Flex-Passw0rd-9');
    expect((await karavictl('POST', '/proxy/storage/', create)).status, 'a second create').to.equal(409);

    const one = await karavictl('GET', '/proxy/storage/?StorageType=powerflex&SystemId=1a2b3c4d5e6f7081');
    expect(decode(one.json?.storage)).to.deep.equal({ User: 'svc-admin', Password: '(omitted)', Endpoint: 'https://10.0.0.9', Insecure: true });
    const all = decode((await karavictl('GET', '/proxy/storage/')).json?.storage) as Record<string, Record<string, unknown>>;
    expect(Object.keys(all.powerflex!).sort()).to.deep.equal(['1a2b3c4d5e6f7081', SID]);
    expect(JSON.stringify(all)).to.not.contain('Flex-Passw0rd-9').and.not.contain(ADMIN_FIXTURE.arrayPassword);

    expect(await karavictl('PATCH', '/proxy/storage/', { ...create, Endpoint: 'https://10.0.0.10', Password: 'Rotated-Passw0rd-2', Insecure: false })).to.deep.equal({ status: 204, json: undefined });
    expect((await onDisk())['Storage/powerflex-1a2b3c4d5e6f7081']).to.deep.include({ endpoint: 'https://10.0.0.10', skipCertificateValidation: false });
    expect(await readFile(path.join(secret, 'password'), 'utf8')).to.equal('Rotated-Passw0rd-2');

    expect(await karavictl('DELETE', '/proxy/storage/?StorageType=powerflex&SystemId=1a2b3c4d5e6f7081')).to.deep.equal({ status: 204, json: undefined });
    expect(await onDisk()).to.not.have.property('Storage/powerflex-1a2b3c4d5e6f7081');
    expect((await karavictl('DELETE', '/proxy/storage/?StorageType=powerflex&SystemId=1a2b3c4d5e6f7081')).status).to.equal(404);
  });

  it('role create (quota in KB of 1000 bytes) / get / list / update / delete', async function () {
    const role = { name: 'silver', storageType: 'powerflex', systemId: SID, pool: 'bronze', quota: '10000000' };
    expect(await karavictl('POST', '/proxy/roles/', role)).to.deep.equal({ status: 201, json: undefined });
    expect((await onDisk())['CSMRole/silver']).to.deep.equal({ quota: '10000000KB', systemType: 'powerflex', systemID: SID, pool: 'bronze' });
    const elsewhere = await karavictl('POST', '/proxy/roles/', { ...role, pool: 'other' });
    expect(elsewhere.status).to.equal(409);
    expect(elsewhere.json?.error).to.match(/one pool of one system: give the role on powerflex\/7045c4cc20dffc0f\/other another name/);
    expect((await karavictl('POST', '/proxy/roles/', { ...role, name: 'unknown-system', systemId: '0000000000000000' })).status, 'a role on a system that is not registered').to.equal(400);
    expect((await karavictl('POST', '/proxy/roles/', { ...role, name: 'bad', quota: '10GB' })).status).to.equal(400);

    const got = await karavictl('GET', '/proxy/roles?name=silver');
    expect(decode(got.json?.role)).to.deep.equal({ silver: { system_types: { powerflex: { system_ids: { [SID]: { pool_quotas: { bronze: 10000000 } } } } } } });
    expect(Object.keys(decode((await karavictl('GET', '/proxy/roles')).json?.roles) as object).sort()).to.deep.equal(['gold', 'silver']);

    expect(await karavictl('PATCH', '/proxy/roles/', { ...role, quota: '0' })).to.deep.equal({ status: 204, json: undefined });
    expect((await onDisk())['CSMRole/silver']).to.deep.include({ quota: '0' });
    expect((await karavictl('PATCH', '/proxy/roles/', { ...role, pool: 'other' })).status, 'update of another key').to.equal(404);

    expect(await karavictl('DELETE', '/proxy/roles', { name: 'silver', storageType: 'powerflex', systemId: SID, pool: 'bronze' })).to.deep.equal({ status: 204, json: undefined });
    expect(await onDisk()).to.not.have.property('CSMRole/silver');
  });

  it('tenant create / get / list / update / bind / unbind / revoke / delete', async function () {
    expect(await karavictl('POST', '/proxy/tenant/', { tenant: 'team-k', approve_sdc: true })).to.deep.equal({ status: 201, json: undefined });
    expect((await onDisk())['CSMTenant/team-k']).to.deep.equal({ roles: '', approveSdc: true, revoke: false });
    expect(await karavictl('PATCH', '/proxy/tenant/', { tenant: 'team-k', approve_sdc: false })).to.deep.equal({ status: 204, json: undefined });
    expect(await karavictl('POST', '/proxy/tenant/bind', { tenant: 'team-k', role: 'gold' })).to.deep.equal({ status: 201, json: undefined });
    expect((await onDisk())['CSMTenant/team-k']).to.deep.equal({ roles: 'gold', approveSdc: false, revoke: false });
    expect(await karavictl('GET', '/proxy/tenant/?name=team-k')).to.deep.equal({ status: 200, json: { name: 'team-k', roles: 'gold', approvesdc: false } });
    expect((await karavictl('GET', '/proxy/tenant/')).json).to.deep.equal({ tenants: ['no-roles', 'revoked', 'team-a', 'team-k'].map((name) => ({ name })) });

    const bound = await karavictl('DELETE', '/proxy/roles', { name: 'gold', storageType: 'powerflex', systemId: SID, pool: 'bronze' });
    expect(bound.status, 'deleting a bound role').to.equal(409);
    expect(await onDisk()).to.have.property('CSMRole/gold');

    expect(await karavictl('PATCH', '/proxy/tenant/revoke', { tenant: 'team-k' })).to.deep.equal({ status: 204, json: undefined });
    expect((await onDisk())['CSMTenant/team-k']).to.deep.include({ revoke: true });
    expect(await karavictl('PATCH', '/proxy/tenant/revoke', { tenant: 'team-k', cancel: true })).to.deep.equal({ status: 204, json: undefined });
    expect((await onDisk())['CSMTenant/team-k']).to.deep.include({ revoke: false });
    expect(await karavictl('POST', '/proxy/tenant/unbind', { tenant: 'team-k', role: 'gold' })).to.deep.equal({ status: 204, json: undefined });
    expect((await onDisk())['CSMTenant/team-k']).to.deep.include({ roles: '' });

    expect((await karavictl('DELETE', '/proxy/tenant/')).status, 'delete without ?name').to.equal(400);
    expect(await karavictl('DELETE', '/proxy/tenant/?name=team-k')).to.deep.equal({ status: 204, json: undefined });
    expect(await onDisk()).to.not.have.property('CSMTenant/team-k');
  });

  it('refuses what the schema refuses (400, nothing written), unknown objects (404) and a tenant token (403)', async function () {
    const before = await readdir(dirs.resourcesDir);
    const invalid = await karavictl('POST', '/proxy/tenant/', { tenant: 'Team_K', approve_sdc: true });
    expect(invalid.status).to.equal(400);
    expect(invalid.json?.error).to.match(/invalid CSMTenant "Team_K", nothing was written/);
    expect(await karavictl('POST', '/proxy/tenant/bind', { tenant: 'team-a', role: 'nope' })).to.deep.include({ status: 404 });
    expect(await karavictl('PATCH', '/proxy/tenant/', { tenant: 'nobody', approve_sdc: true })).to.deep.include({ status: 404 });
    const tenant = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'team-a', roles: ['gold'], accessTtlSeconds: 600, refreshTtlSeconds: 3600 });
    expect((await karavictl('POST', '/proxy/tenant/', { tenant: 'sneaky' }, tenant.access)).status).to.equal(403);
    expect(await readdir(dirs.resourcesDir)).to.deep.equal(before);
  });

  it('never answered an array password or the signing secret', function () {
    const all = api.responses().join('\n');
    for (const secret of ['Flex-Passw0rd-9', 'Rotated-Passw0rd-2', ADMIN_FIXTURE.arrayPassword, ADMIN_FIXTURE.signingSecret]) expect(all).to.not.contain(secret);
  });
});
