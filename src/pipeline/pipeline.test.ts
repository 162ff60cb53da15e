// The composed pipeline with a stub array adapter, policy engine and ledger (unit level; the real
// ones meet in test/edge.e2e.test.ts).
import { expect } from 'chai';
import type { ArrayAdapter, Operation } from '../arrays/types.js';
import { LedgerUnavailableError, type Ledger, type ReserveResult, type ResizeResult } from '../ledger/types.js';
import type { ResourceSource, Role, StorageSystem, Tenant } from '../resources/types.js';
import { generateKeyPair, SignJWT } from 'jose';
import { freePort } from '../harness/ports.js';
import { mintTokenPair } from '../tokens/mint.js';
import { ServiceAccountVerifier } from '../tokens/serviceAccount.js';
import { TokenVerifier } from '../tokens/verify.js';
import type { SigningKeySet } from '../tokens/types.js';
import { createDecider, type PipelineDeps } from './pipeline.js';
import type { PolicyEngine } from './policy/types.js';
import type { Allow, Deny, RequestView } from './types.js';

const keys: SigningKeySet = { defaultKid: 'k', keys: new Map([['k', new TextEncoder().encode('pipeline-test-secret-0123456789abcdef')]]) };
const system: StorageSystem = { name: 'pf-1', type: 'powerflex', systemID: 'sys1', endpoint: 'https://array', skipCertificateValidation: false, credentials: { kind: 'secret', name: 's' } };
const tenant: Tenant = { name: 'a', roles: ['bronze-role'], approveSdc: false, revoke: false };
const bronzeRole: Role = { name: 'bronze-role', systemType: 'powerflex', systemID: 'sys1', pool: 'bronze', quota: { kind: 'limited', kib: 100 * 1024 * 1024 } };

const operations: Record<string, Operation> = {
  '/api/version/': { kind: 'read' },
  '/api/login/': { kind: 'login' },
  '/api/types/Volume/instances/': { kind: 'volume-create', poolId: 'p1', sizeKiB: 8 * 1024 * 1024, name: 'vol-1' },
  '/api/instances/Volume::v1/action/removeVolume/': { kind: 'volume-delete', volumeId: 'v1' },
  '/api/instances/System::sys1/action/approveSdc/': { kind: 'sdc-approve' },
  '/api/instances/Volume::v1/action/setVolumeSize/': { kind: 'volume-expand', volumeId: 'v1', newSizeKiB: 16 * 1024 * 1024 },
  '/api/instances/Volume::v1/action/overwriteVolumeContent/': { kind: 'volume-restore', volumeId: 'v1', sourceVolumeId: 'v2' },
  '/api/instances/Volume::v1/action/addMappedSdc/': { kind: 'volume-map', volumeId: 'v1' },
  '/api/instances/Volume::v1/action/lowerTo6/': { kind: 'volume-expand', volumeId: 'v1', newSizeKiB: 6 },
  '/api/instances/Volume::v1/action/lowerTo2/': { kind: 'volume-expand', volumeId: 'v1', newSizeKiB: 2 },
  '/api/evil/': { kind: 'unknown-mutation' },
};

const adapter: ArrayAdapter = {
  type: 'powerflex',
  classify: ({ path }) => {
    const normalised = path.endsWith('/') ? path : `${path}/`;
    return { path: normalised, operation: operations[normalised] ?? { kind: 'read' } };
  },
  localAnswer: () => ({ status: 200, headers: [], body: '"hellofromkaravi"' }),
  poolName: async () => 'bronze',
  volume: async (_s, _c, id) => ({ id, name: `name-of-${id}`, sizeKiB: 8, poolId: 'p1', poolName: 'bronze' }),
  findVolume: async () => undefined,
  inventory: async function* () {},
  authorize: async (_s, credentials) => [{ name: 'authorization', value: `Basic ${credentials.username}` }],
  forwardedHeaders: ['accept', 'content-type'],
  errorBody: (status, message) => ({ contentType: 'application/json', body: JSON.stringify({ errorCode: status, httpStatusCode: status, message }) }),
};

function deps(
  overrides: { reserve?: () => Promise<ReserveResult>; beginResize?: () => Promise<ResizeResult>; owns?: boolean; policyAllows?: boolean; array?: ArrayAdapter; roles?: Role[]; tenant?: Tenant } = {},
): PipelineDeps {
  const roles = new Map((overrides.roles ?? [bronzeRole]).map((role) => [role.name, role]));
  const resources: ResourceSource = {
    current: () => ({ generation: 1, tenants: new Map([['a', overrides.tenant ?? tenant]]), roles, storage: new Map([['powerflex/sys1', system]]) }),
    onChange: () => () => undefined,
    credentials: async () => ({ username: 'array-admin', password: 'pw' }),
  };
  const policy: PolicyEngine = {
    setRoles: () => undefined,
    evaluate: (entrypoint) =>
      entrypoint === 'karavi/volumes/create' || entrypoint === 'karavi/volumes/expand'
        ? overrides.policyAllows === false
          ? { allow: false, deny: ['no roles in [bronze-role] allow the 8388608 Kb request on powerflex/sys1/bronze'], permitted_roles: {} }
          : { allow: true, deny: [], permitted_roles: { 'bronze-role': 100 * 1024 * 1024 } }
        : { response: { allowed: true } },
  };
  const ledger = {
    reserve: overrides.reserve ?? (async () => ({ status: 'approved', reservation: 'res-1' })),
    beginDelete: async () => (overrides.owns === false ? { status: 'not-owner' } : { status: 'ok', deletion: 'del-1' }),
    owns: async () => overrides.owns !== false,
    beginResize: overrides.beginResize ?? (async () => ({ status: 'approved', resize: 'resize-1', increaseKiB: 8 })),
  } as unknown as Ledger;
  return { verifier: new TokenVerifier({ keys: () => keys }), resources, adapters: new Map([['powerflex', overrides.array ?? adapter]]), policy, ledger };
}

const FORWARDED = 'for=csm-authorization;https://array;sys1,by=csm-authorization;csi-vxflexos';

async function request(path: string, headers: Record<string, string> = {}, method = 'POST'): Promise<RequestView> {
  const { access } = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'a', roles: ['bronze-role'], accessTtlSeconds: 60, refreshTtlSeconds: 600 });
  return { id: 'r', method, path, body: Buffer.alloc(0), headers: { authorization: `Bearer ${access}`, forwarded: FORWARDED, ...headers } };
}

const bodyOf = (decision: Deny) => JSON.parse(decision.body) as Record<string, unknown>;

describe('createDecider', () => {
  it('allows a read with the array credentials, the routing header, the canonical path and the tenant headers removed', async () => {
    const sent = { cookie: 'c', 'x-forwarded-for': '1.2.3.4', 'x-original-url': '/api/logout', accept: 'application/json;version=4.0', ':authority': 'array', host: 'array' };
    const decision = (await createDecider(deps())(await request('/api/version', sent, 'GET'))) as Allow;
    expect(decision.kind).to.equal('allow');
    expect(decision.setHeaders).to.deep.equal([
      { name: 'authorization', value: 'Basic array-admin' },
      { name: 'x-storage-authz-cluster', value: 'storage-pf-1' },
      { name: ':path', value: '/api/version/' },
    ]);
    // Only what the adapter lists (accept) and Envoy's own headers stay; authorization is overwritten.
    expect(decision.removeHeaders).to.have.members(['cookie', 'forwarded', 'x-forwarded-for', 'x-original-url']);
    expect(decision.metadata).to.have.all.keys('tenant', 'operation', 'system', 'session-tag');
    expect(decision.metadata).to.include({ tenant: 'a', operation: 'read', system: 'powerflex/sys1' });
  });

  it('denies a read of a system none of the tenant\'s live roles names, 403 with the reason', async () => {
    const otherSystem = { ...bronzeRole, systemID: 'sys2' };
    for (const roles of [[], [otherSystem], [{ ...bronzeRole, systemType: 'powermax' as const }]]) {
      const decision = (await createDecider(deps({ roles }))(await request('/api/version', {}, 'GET'))) as Deny;
      expect(decision, JSON.stringify(roles)).to.include({ kind: 'deny', status: 403, reason: 'no-role-on-system' });
      expect(bodyOf(decision).message).to.equal('read denied: tenant "a" has no role on powerflex system "sys1"');
    }
  });

  it('tags the allow with a fingerprint of the array credential it attached, never the credential', async () => {
    const tagOf = async (username: string) => {
      const resources = { ...deps().resources, credentials: async () => ({ username, password: 'pw' }) };
      const decision = (await createDecider({ ...deps(), resources })(await request('/api/version', {}, 'GET'))) as Allow;
      return decision.metadata['session-tag']!;
    };
    const tag = await tagOf('array-session-1');
    expect(tag).to.match(/^[0-9a-f]{16}$/);
    expect(tag).to.not.include('array-session-1');
    expect(await tagOf('array-session-1')).to.equal(tag);
    expect(await tagOf('array-session-2')).to.not.equal(tag);
  });

  it('reserves quota for a create and carries the reservation in dynamic metadata', async () => {
    const decision = (await createDecider(deps())(await request('/api/types/Volume/instances/'))) as Allow;
    expect(decision.kind).to.equal('allow');
    expect(decision.metadata).to.include({ operation: 'volume-create', holds: 'res-1' });
    expect(decision.metadata).to.not.have.property('hints');
  });

  it("carries a hold another request made (already-approved) only as a hint, never as this request's hold", async () => {
    const reserve = async (): Promise<ReserveResult> => ({ status: 'already-approved', reservation: 'res-0' });
    const decision = (await createDecider(deps({ reserve }))(await request('/api/types/Volume/instances/'))) as Allow;
    expect(decision.metadata).to.include({ operation: 'volume-create', hints: 'res-0' });
    expect(decision.metadata).to.not.have.property('holds');
  });

  it('lets an unbounded volume (a directory without a hard quota) be mapped only where a role on its pool allows it (requireHardQuota: false)', async () => {
    const unboundedArray: ArrayAdapter = { ...adapter, volume: async (_s, _c, id) => ({ id, name: `name-of-${id}`, sizeKiB: 1, poolId: 'p1', poolName: 'bronze', unbounded: true }) };
    const refused = (await createDecider(deps({ array: unboundedArray }))(await request('/api/instances/Volume::v1/action/addMappedSdc/'))) as Deny;
    expect(refused).to.include({ kind: 'deny', status: 400, reason: 'hard-quota-required' });
    expect(bodyOf(refused).message).to.match(/"name-of-v1" has no hard quota.*requireHardQuota: false on bronze/);
    const otherPool = (await createDecider(deps({ array: unboundedArray, roles: [{ ...bronzeRole, pool: 'silver', allowUnbounded: true }, bronzeRole] }))(await request('/api/instances/Volume::v1/action/addMappedSdc/'))) as Deny;
    expect(otherPool).to.include({ status: 400, reason: 'hard-quota-required' });
    const allowed = await createDecider(deps({ array: unboundedArray, roles: [{ ...bronzeRole, allowUnbounded: true }] }))(await request('/api/instances/Volume::v1/action/addMappedSdc/'));
    expect(allowed.kind).to.equal('allow');
  });

  it('lowers a shrinkable volume (a PowerScale quota) down to what it holds, asking the ledger to allow the shrink; below that 400', async () => {
    const shrinkable: ArrayAdapter = { ...adapter, volume: async (_s, _c, id) => ({ id, name: `name-of-${id}`, sizeKiB: 8, poolId: 'p1', poolName: 'bronze', shrinkableToKiB: 4 }) };
    const asked: unknown[] = [];
    const beginResize = async (...args: unknown[]): Promise<ResizeResult> => {
      asked.push(args[4]);
      return { status: 'approved', resize: 'resize-2', increaseKiB: 0 };
    };
    const lowered = (await createDecider(deps({ array: shrinkable, beginResize }))(await request('/api/instances/Volume::v1/action/lowerTo6/'))) as Allow;
    expect(lowered.metadata).to.include({ operation: 'volume-expand', holds: 'resize-2' });
    expect(asked).to.deep.equal([{ allowShrink: true }]);
    const below = (await createDecider(deps({ array: shrinkable, beginResize }))(await request('/api/instances/Volume::v1/action/lowerTo2/'))) as Deny;
    expect(below).to.include({ kind: 'deny', status: 400, reason: 'shrink-below-data' });
    expect(bodyOf(below).message).to.match(/"name-of-v1" holds 4 KiB; its size cannot go below that/);
    expect(asked).to.have.length(1);
  });

  it('holds the increase of an expansion of an owned volume; refuses another tenant\'s volume 403 and a busy one 409', async () => {
    const expand = () => request('/api/instances/Volume::v1/action/setVolumeSize/');
    const allowed = (await createDecider(deps())(await expand())) as Allow;
    expect(allowed.metadata).to.include({ operation: 'volume-expand', holds: 'resize-1' });
    const notOwned = (await createDecider(deps({ owns: false }))(await expand())) as Deny;
    expect([notOwned.status, bodyOf(notOwned).message]).to.deep.equal([403, 'expand denied: volume "name-of-v1" is not owned by tenant "a"']);
    const busy = (await createDecider(deps({ beginResize: async () => ({ status: 'busy' }) }))(await expand())) as Deny;
    expect(busy.status).to.equal(409);
    const overQuota = (await createDecider(deps({ beginResize: async () => ({ status: 'denied', usedKiB: 96 * 1024 * 1024, quotaKiB: 100 * 1024 * 1024, requestedKiB: 8 * 1024 * 1024 }) }))(await expand())) as Deny;
    expect([overQuota.status, bodyOf(overQuota).message]).to.deep.equal([
      507, 'request denied: not enough quota: tenant "a" on powerflex/sys1/bronze: quota 100 GiB, used 96 GiB, requested 8 GiB',
    ]);
  });

  it('allows a restore between two volumes the tenant owns, holding nothing, and refuses it 403 otherwise', async () => {
    const restore = () => request('/api/instances/Volume::v1/action/overwriteVolumeContent/');
    const allowed = (await createDecider(deps())(await restore())) as Allow;
    expect(allowed.kind).to.equal('allow');
    expect(allowed.metadata).to.include({ operation: 'volume-restore' }).and.not.have.property('holds');
    const notOwned = (await createDecider(deps({ owns: false }))(await restore())) as Deny;
    expect([notOwned.status, bodyOf(notOwned).message]).to.deep.equal([403, 'restore denied: volume "name-of-v1" is not owned by tenant "a"']);
  });

  it('denies 507 naming tenant, pool, quota, used and requested when the ledger says no', async () => {
    const reserve = async (): Promise<ReserveResult> => ({ status: 'denied', quotaKiB: 100 * 1024 * 1024, usedKiB: 96 * 1024 * 1024, requestedKiB: 8 * 1024 * 1024 });
    const decision = (await createDecider(deps({ reserve }))(await request('/api/types/Volume/instances/'))) as Deny;
    expect(decision.status).to.equal(507);
    expect(bodyOf(decision)).to.deep.equal({
      errorCode: 507,
      httpStatusCode: 507,
      message: 'request denied: not enough quota: tenant "a" on powerflex/sys1/bronze: quota 100 GiB, used 96 GiB, requested 8 GiB',
    });
  });

  it('denies 400 with the policy messages like Dell', async () => {
    const decision = (await createDecider(deps({ policyAllows: false }))(await request('/api/types/Volume/instances/'))) as Deny;
    expect(decision.status).to.equal(400);
    expect(bodyOf(decision).message).to.equal('request denied: no roles in [bronze-role] allow the 8388608 Kb request on powerflex/sys1/bronze');
  });

  it('denies 503 "quota store unavailable" when the ledger is down', async () => {
    const reserve = () => Promise.reject(new LedgerUnavailableError());
    const decision = (await createDecider(deps({ reserve }))(await request('/api/types/Volume/instances/'))) as Deny;
    expect(decision.status).to.equal(503);
    expect(bodyOf(decision).message).to.equal('quota store unavailable');
  });

  it('denies 403 a delete of a volume the tenant does not own, and an SDC approval it may not make', async () => {
    const deleteDecision = (await createDecider(deps({ owns: false }))(await request('/api/instances/Volume::v1/action/removeVolume/'))) as Deny;
    expect(deleteDecision.status).to.equal(403);
    expect(bodyOf(deleteDecision).message).to.equal('delete denied: volume "name-of-v1" is not owned by tenant "a"');
    const approve = (await createDecider(deps())(await request('/api/instances/System::sys1/action/approveSdc/'))) as Deny;
    expect(approve.status).to.equal(403);
  });

  it('answers login locally and fails closed on an unknown mutation', async () => {
    const login = (await createDecider(deps())(await request('/api/login/', {}, 'GET'))) as Deny;
    expect(login).to.include({ kind: 'deny', status: 200, body: '"hellofromkaravi"' });
    const evil = (await createDecider(deps())(await request('/api/evil/'))) as Deny;
    expect(evil.status).to.equal(403);
    expect(bodyOf(evil).message).to.contain('POST /api/evil/');
  });

  it('denies 502 in the array shape when the array refuses its own credentials, and reserves nothing', async () => {
    let reserved = false;
    const array: ArrayAdapter = { ...adapter, authorize: () => Promise.reject(new Error('gateway login failed: 401')) };
    const reserve = async (): Promise<ReserveResult> => ((reserved = true), { status: 'approved', reservation: 'r' });
    const decision = (await createDecider(deps({ array, reserve }))(await request('/api/types/Volume/instances/'))) as Deny;
    expect(decision.status).to.equal(502);
    expect(bodyOf(decision).message).to.equal('cannot authenticate to storage "pf-1": gateway login failed: 401');
    expect(reserved).to.equal(false);
  });

  it('denies an unknown system 502 in the array shape and a missing Forwarded 400 in the generic shape', async () => {
    const unknown = (await createDecider(deps())(await request('/api/version/', { forwarded: 'for=csm-authorization;https://x;nope,by=csm-authorization;powerflex' }, 'GET'))) as Deny;
    expect(unknown.status).to.equal(502);
    expect(bodyOf(unknown)).to.include({ httpStatusCode: 502, message: 'system id not found: "nope"' });
    const missing = (await createDecider(deps())(await request('/api/version/', { forwarded: '' }, 'GET'))) as Deny;
    expect(missing.status).to.equal(400);
    expect(bodyOf(missing)).to.have.property('code', 400);
    const unsupported = (await createDecider(deps())(await request('/x', { forwarded: 'by=csm-authorization;powermax' }, 'GET'))) as Deny;
    expect(bodyOf(unsupported)).to.deep.equal({ error: 'array type not supported: powermax', code: 502 });
  });

  it("denies 503 in the array shape, and holds nothing, when a trusted issuer's keys cannot be fetched (our outage, not the tenant's token)", async () => {
    const issuer = 'https://cluster-a.example';
    const subject = 'system:serviceaccount:vxflexos:vxflexos-controller';
    // A port nothing listens on: the JWKS fetch is refused.
    const jwksUri = `https://127.0.0.1:${await freePort()}/openid/v1/jwks`;
    const trusting: Tenant = { ...tenant, identities: [{ issuer, audiences: ['storage-authz'], keys: { kind: 'remote', jwksUri }, subjects: [subject] }] };
    const { privateKey } = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ iss: issuer, aud: ['storage-authz'], sub: subject, iat: now, exp: now + 600 }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(privateKey);
    let reserved = false;
    const reserve = async (): Promise<ReserveResult> => ((reserved = true), { status: 'approved', reservation: 'r' });
    const serviceAccounts = new ServiceAccountVerifier({ timeoutMs: 2000 });
    try {
      const view = await request('/api/types/Volume/instances/', { authorization: `Bearer ${token}` });
      const decision = (await createDecider({ ...deps({ tenant: trusting, reserve }), serviceAccounts })(view)) as Deny;
      expect(decision).to.include({ kind: 'deny', status: 503, reason: 'token-keys-unavailable' });
      expect(bodyOf(decision)).to.deep.equal({
        errorCode: 503, httpStatusCode: 503, message: `the keys of issuer "${issuer}" could not be fetched; its tokens are refused until they can be`,
      });
      expect(reserved).to.equal(false);
    } finally {
      await serviceAccounts.close();
    }
  });
});
