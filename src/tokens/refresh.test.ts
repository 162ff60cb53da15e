import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { ResourceSnapshot, Tenant } from '../resources/types.js';
import { mintTokenPair } from './mint.js';
import { refreshTenantToken, type RefreshDeps } from './refresh.js';
import type { SigningKeySet } from './types.js';
import { TokenVerifier } from './verify.js';

const SECRET = 'refresh-test-key-0123456789abcdefghijklmnop';
const OTHER_SECRET = 'another-key-ZYXWVUTSRQPONMLKJIHGFEDCBA98765';
const NOW = 1_700_000_000;
const keys: SigningKeySet = { defaultKid: 'k1', keys: new Map([['k1', new TextEncoder().encode(SECRET)]]) };

function tenant(name: string, overrides: Partial<Tenant> = {}): Tenant {
  return { name, roles: ['bronze'], approveSdc: false, revoke: false, ...overrides };
}

describe('refreshTenantToken (POST /proxy/refresh-token/)', () => {
  let clock: number;
  let tenants: Map<string, Tenant>;
  let deps: RefreshDeps;

  beforeEach(() => {
    clock = NOW;
    tenants = new Map([['tenant-a', tenant('tenant-a', { roles: ['bronze', 'gold'] })], ['tenant-b', tenant('tenant-b')]]);
    const snapshot = (): ResourceSnapshot => ({ generation: 1, tenants, roles: new Map(), storage: new Map() });
    deps = {
      // No clock skew: the tests move the clock to the second.
      verifier: new TokenVerifier({ keys: () => keys, now: () => clock, clockSkewSeconds: 0 }),
      keys: () => keys,
      resources: { current: snapshot },
      accessTtlSeconds: 120,
      earlyWindowSeconds: 10,
      now: () => clock,
    };
  });

  const pairFor = (group: string, accessTtlSeconds = 100, refreshTtlSeconds = 3600) =>
    mintTokenPair({ keys, subject: 'csm-tenant', group, roles: ['bronze'], accessTtlSeconds, refreshTtlSeconds, now: NOW });

  it("accepts Dell's request shape for an expired access token and returns {accessToken}", async () => {
    const pair = await pairFor('tenant-a');
    clock = NOW + 101;
    const result = await refreshTenantToken(JSON.stringify({ refreshToken: pair.refresh, accessToken: pair.access }), deps);
    expect(result.status).to.equal(200);
    expect(Object.keys(result.body)).to.deep.equal(['accessToken']);
    const claims = decodeJwt((result.body as { accessToken: string }).accessToken);
    expect(claims).to.include({ iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant', group: 'tenant-a', iat: clock, exp: clock + 120 });
    // Live role bindings, not the roles frozen into the refresh token.
    expect(claims.roles).to.equal('bronze,gold');
    expect(await deps.verifier.verify((result.body as { accessToken: string }).accessToken)).to.include({ group: 'tenant-a' });
  });

  it('matches field names case-insensitively, like Dell\'s Go decoder, and takes a parsed body', async () => {
    const pair = await pairFor('tenant-a');
    clock = NOW + 200;
    expect((await refreshTenantToken({ RefreshToken: pair.refresh, AccessToken: pair.access }, deps)).status).to.equal(200);
  });

  it('accepts a refresh in the last half of the access token lifetime, refuses one earlier', async () => {
    const pair = await pairFor('tenant-a', 100);
    clock = NOW + 40;
    const early = await refreshTenantToken({ refreshToken: pair.refresh, accessToken: pair.access }, deps);
    expect(early.status).to.equal(401);
    expect(early.body).to.include({ code: 401, reason: 'access-token-still-valid' });
    clock = NOW + 55;
    expect((await refreshTenantToken({ refreshToken: pair.refresh, accessToken: pair.access }, deps)).status).to.equal(200);
  });

  it('accepts a refresh within the early window for a token without iat (Dell-minted)', async () => {
    const dellAccess = dellToken({ group: 'tenant-a', exp: NOW + 1000 });
    const pair = await pairFor('tenant-a');
    clock = NOW + 985;
    const tooEarly = await refreshTenantToken({ refreshToken: pair.refresh, accessToken: dellAccess }, deps);
    expect(tooEarly.body).to.include({ reason: 'access-token-still-valid' });
    clock = NOW + 991;
    expect((await refreshTenantToken({ refreshToken: pair.refresh, accessToken: dellAccess }, deps)).status).to.equal(200);
  });

  it('never issues an access token that outlives the refresh token', async () => {
    const pair = await pairFor('tenant-a', 100, 150);
    clock = NOW + 101;
    const result = await refreshTenantToken({ refreshToken: pair.refresh, accessToken: pair.access }, deps);
    expect(decodeJwt((result.body as { accessToken: string }).accessToken).exp).to.equal(NOW + 150);
  });

  it('refuses an expired refresh token, saying the admin must issue a new pair', async () => {
    const pair = await pairFor('tenant-a', 100, 3600);
    clock = NOW + 3601;
    const result = await refreshTenantToken({ refreshToken: pair.refresh, accessToken: pair.access }, deps);
    expect(result).to.deep.include({ status: 401 });
    expect(result.body).to.include({ code: 401, reason: 'refresh-token-expired' });
    expect((result.body as { error: string }).error).to.include('issue a new token pair');
  });

  it('refuses a refresh token signed with another key, and a forged access token', async () => {
    const pair = await pairFor('tenant-a');
    clock = NOW + 101;
    const forged = dellToken({ group: 'tenant-a', exp: NOW + 3600 }, OTHER_SECRET);
    expect((await refreshTenantToken({ refreshToken: forged, accessToken: pair.access }, deps)).body)
      .to.include({ reason: 'refresh-token-invalid' });
    expect((await refreshTenantToken({ refreshToken: pair.refresh, accessToken: forged }, deps)).body)
      .to.include({ reason: 'access-token-invalid' });
  });

  it('refuses a revoked tenant and one that no longer exists', async () => {
    const pair = await pairFor('tenant-a');
    clock = NOW + 101;
    tenants.set('tenant-a', tenant('tenant-a', { revoke: true }));
    const revoked = await refreshTenantToken({ refreshToken: pair.refresh, accessToken: pair.access }, deps);
    expect(revoked.status).to.equal(401);
    expect(revoked.body).to.include({ reason: 'tenant-revoked' });
    tenants.delete('tenant-a');
    expect((await refreshTenantToken({ refreshToken: pair.refresh, accessToken: pair.access }, deps)).body)
      .to.include({ reason: 'tenant-unknown' });
  });

  it('refuses a pair from two tenants and admin tokens', async () => {
    const a = await pairFor('tenant-a');
    const b = await pairFor('tenant-b');
    clock = NOW + 101;
    expect((await refreshTenantToken({ refreshToken: a.refresh, accessToken: b.access }, deps)).body)
      .to.include({ reason: 'token-pair-mismatch' });
    const admin = await mintTokenPair({ keys, subject: 'csm-admin', group: 'tenant-a', roles: [], accessTtlSeconds: 100, refreshTtlSeconds: 3600, now: NOW });
    expect((await refreshTenantToken({ refreshToken: admin.refresh, accessToken: admin.access }, deps)).body)
      .to.include({ reason: 'not-a-tenant-token' });
  });

  it('refuses a swapped pair, or the access token twice, as wrong-token-kind: an access token cannot extend itself', async () => {
    const pair = await pairFor('tenant-a');
    clock = NOW + 101;
    for (const body of [{ refreshToken: pair.access, accessToken: pair.refresh }, { refreshToken: pair.access, accessToken: pair.access }]) {
      const result = await refreshTenantToken(body, deps);
      expect(result.status).to.equal(401);
      expect(result.body).to.include({ reason: 'wrong-token-kind' });
    }
  });

  it('refreshes with a Dell v1.6 pair (karavi-tenant, no iat, no marker): kinds by lifetime', async () => {
    const dell = (exp: number) => {
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ aud: 'karavi', exp, group: 'tenant-a', iss: 'com.dell.karavi', roles: 'bronze', sub: 'karavi-tenant' })}`;
      return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    };
    const result = await refreshTenantToken({ refreshToken: dell(NOW + 720 * 3600), accessToken: dell(NOW - 5) }, deps);
    expect(result.status).to.equal(200);
    expect(decodeJwt((result.body as { accessToken: string }).accessToken)).to.include({ sub: 'karavi-tenant', iss: 'com.dell.karavi', token_use: 'access' });
  });

  it('answers 400 with a clear error for a malformed body', async () => {
    for (const body of ['not json', '[]', 'null', { refreshToken: 'x' }, { refreshToken: 1, accessToken: 'y' }, Buffer.from('{')]) {
      const result = await refreshTenantToken(body, deps);
      expect(result.status, String(body)).to.equal(400);
      expect(result.body).to.include({ code: 400, reason: 'malformed-request' });
    }
  });
});

/** A token as Dell's tenant-service mints it: no kid, no iat. */
function dellToken(claims: { group: string; exp: number }, secret = SECRET): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant', roles: 'bronze', ...claims })}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
