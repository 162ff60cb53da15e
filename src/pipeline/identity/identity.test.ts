import { expect } from 'chai';
import { mintTokenPair } from '../../tokens/mint.js';
import { TokenVerifier } from '../../tokens/verify.js';
import type { SigningKeySet } from '../../tokens/types.js';
import type { ResourceSnapshot, Tenant } from '../../resources/types.js';
import { bearerToken, identify } from './identity.js';

const keys: SigningKeySet = { defaultKid: 'k1', keys: new Map([['k1', new TextEncoder().encode('identity-test-secret-0123456789abcdef')]]) };
const verifier = new TokenVerifier({ keys: () => keys });

function snapshot(...tenants: Tenant[]): ResourceSnapshot {
  return { generation: 1, tenants: new Map(tenants.map((t) => [t.name, t])), roles: new Map(), storage: new Map() };
}
const tenantA: Tenant = { name: 'a', roles: ['live-role'], approveSdc: false, revoke: false };
const token = async (subject: 'csm-tenant' | 'csm-admin', group = 'a') =>
  (await mintTokenPair({ keys, subject, group, roles: subject === 'csm-admin' ? [] : ['minted-role'], accessTtlSeconds: 60, refreshTtlSeconds: 600 })).access;

describe('identity phase', () => {
  it('refuses a missing header and every scheme but Bearer with 401', () => {
    expect(bearerToken(undefined)).to.include({ status: 401, reason: 'missing-token' });
    expect(bearerToken('Basic dXNlcjpwYXNz')).to.include({ status: 401, reason: 'invalid-authz-header' });
    expect(bearerToken('Bearer')).to.include({ status: 401 });
    expect(bearerToken('Bearer a b')).to.include({ status: 401 });
    expect(bearerToken('Bearer abc')).to.equal('abc');
  });

  it('yields the live tenant, whose roles come from configuration, not the token', async () => {
    const identity = await identify(`Bearer ${await token('csm-tenant')}`, verifier, snapshot(tenantA));
    expect(identity).to.have.property('tenant').that.deep.equals(tenantA);
    expect(identity).to.have.nested.property('claims.roles', 'minted-role');
  });

  it('refuses a revoked tenant with 401 "tenant has been revoked"', async () => {
    const identity = await identify(`Bearer ${await token('csm-tenant')}`, verifier, snapshot({ ...tenantA, revoke: true }));
    expect(identity).to.deep.equal({ status: 401, reason: 'tenant-revoked', message: 'tenant has been revoked' });
  });

  it('refuses a tenant revoked after its token was verified and cached, on the very next request', async () => {
    const cached = new TokenVerifier({ keys: () => keys });
    const bearer = `Bearer ${await token('csm-tenant')}`;
    expect(await identify(bearer, cached, snapshot(tenantA))).to.have.property('tenant');
    // The verification is now cached; the tenant is read from the live snapshot of every request.
    expect(await identify(bearer, cached, snapshot({ ...tenantA, revoke: true }))).to.include({ status: 401, reason: 'tenant-revoked' });
    expect(await identify(bearer, cached, snapshot())).to.include({ status: 403, reason: 'unknown-tenant' });
    expect(await identify(bearer, cached, snapshot({ ...tenantA, roles: [] }))).to.have.property('roles').that.deep.equals([]);
  });

  it('refuses a tenant that is not configured with 403', async () => {
    const identity = await identify(`Bearer ${await token('csm-tenant', 'ghost')}`, verifier, snapshot(tenantA));
    expect(identity).to.include({ status: 403, reason: 'unknown-tenant' });
  });

  it('refuses admin tokens on the data path', async () => {
    const identity = await identify(`Bearer ${await token('csm-admin', 'admin')}`, verifier, snapshot(tenantA));
    expect(identity).to.include({ status: 403, reason: 'admin-token' });
  });

  it('refuses a refresh token with 401, and a subject that is not a tenant subject with 401', async () => {
    const pair = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'a', roles: [], accessTtlSeconds: 60, refreshTtlSeconds: 600 });
    expect(await identify(`Bearer ${pair.refresh}`, verifier, snapshot(tenantA))).to.include({ status: 401, reason: 'token-wrong-kind' });
    const strict = new TokenVerifier({ keys: () => keys, tenantSubjects: ['csm-tenant'] });
    const legacy = await mintTokenPair({ keys, subject: 'karavi-tenant' as 'csm-tenant', group: 'a', roles: [], accessTtlSeconds: 60, refreshTtlSeconds: 600 });
    expect(await identify(`Bearer ${legacy.access}`, verifier, snapshot(tenantA))).to.have.property('tenant');
    expect(await identify(`Bearer ${legacy.access}`, strict, snapshot(tenantA))).to.deep.equal({
      status: 401, reason: 'token-not-tenant', message: 'token subject "karavi-tenant" is not a tenant subject (accepted: csm-tenant)',
    });
  });

  it('turns a token error into a 401 naming the problem, not the token', async () => {
    const forged = (await token('csm-tenant')).slice(0, -4) + 'AAAA';
    const identity = await identify(`Bearer ${forged}`, verifier, snapshot(tenantA));
    expect(identity).to.include({ status: 401, reason: 'token-bad-signature' });
    expect(JSON.stringify(identity)).to.not.contain(forged);
  });
});
