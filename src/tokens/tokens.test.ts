import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, decodeJwt } from 'jose';
import { rejectionOf } from '../../test/support/rejection.js';
import { mintAccessFromRefresh, MintError, mintTokenPair } from './mint.js';
import { TokenError, TokenVerifier } from './verify.js';
import type { SigningKeySet } from './types.js';

const OLD_SECRET = 'old-key-0123456789abcdefghijklmnopqrstuv';
const NEW_SECRET = 'new-key-ZYXWVUTSRQPONMLKJIHGFEDCBA987654';
const NOW = 1_700_000_000;

function keySet(defaultKid: string, entries: Record<string, string>): SigningKeySet {
  return { defaultKid, keys: new Map(Object.entries(entries).map(([kid, s]) => [kid, new TextEncoder().encode(s)])) };
}

async function expectTokenError(promise: Promise<unknown>, code: string): Promise<TokenError> {
  const error = await rejectionOf(promise);
  expect(error).to.be.instanceOf(TokenError);
  expect((error as TokenError).code).to.equal(code);
  return error as TokenError;
}

/** Dell's tokens: no kid, signed with the plain shared secret (reference §2.1). */
function dellStyleToken(secret: string, claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

const tenantClaims = { iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant', group: 'tenant-a', roles: 'bronze,silver', exp: NOW + 300 };

describe('tokens: mint and verify', () => {
  let clock = NOW;
  let keys = keySet('k1', { k1: OLD_SECRET });
  const verifier = () => new TokenVerifier({ keys: () => keys, now: () => clock });

  beforeEach(() => {
    clock = NOW;
    keys = keySet('k1', { k1: OLD_SECRET });
  });

  it('mints a pair with Dell\'s claims, differing only in exp and the token_use marker', async () => {
    const pair = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'tenant-a', roles: ['bronze', 'silver'], accessTtlSeconds: 300, refreshTtlSeconds: 86400, now: NOW });
    expect(decodeProtectedHeader(pair.access)).to.deep.equal({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
    const access = decodeJwt(pair.access);
    const refresh = decodeJwt(pair.refresh);
    expect(access).to.deep.equal({ iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant', group: 'tenant-a', roles: 'bronze,silver', iat: NOW, token_use: 'access', exp: NOW + 300 });
    expect({ ...refresh, exp: 0 }).to.deep.equal({ ...access, token_use: 'refresh', exp: 0 });
    expect(refresh.exp).to.equal(NOW + 86400);
  });

  it('round-trips a tenant pair and an admin pair (roles "")', async () => {
    const tenant = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'tenant-a', roles: ['bronze'], accessTtlSeconds: 60, refreshTtlSeconds: 600, now: NOW });
    expect(await verifier().verify(tenant.access)).to.include({ group: 'tenant-a', roles: 'bronze', sub: 'csm-tenant' });
    const admin = await mintTokenPair({ keys, subject: 'csm-admin', group: 'admin', roles: [], accessTtlSeconds: 60, refreshTtlSeconds: 600, now: NOW });
    expect(await verifier().verify(admin.refresh, 'refresh')).to.include({ group: 'admin', roles: '', sub: 'csm-admin' });
  });

  it('accepts a Dell-minted token (no kid) with the default key', async () => {
    const claims = await verifier().verify(dellStyleToken(OLD_SECRET, tenantClaims));
    expect(claims).to.deep.equal(tenantClaims);
  });

  it('verifies a token naming an unknown kid with the default key', async () => {
    const token = dellStyleToken(OLD_SECRET, tenantClaims, { alg: 'HS256', typ: 'JWT', kid: 'from-another-tool' });
    expect((await verifier().verify(token)).group).to.equal('tenant-a');
    const error = await expectTokenError(verifier().verify(dellStyleToken(NEW_SECRET, tenantClaims, { alg: 'HS256', kid: 'retired' })), 'unknown-key');
    expect(error.message).to.equal('token was signed with key "retired", which is not (or no longer) loaded');
  });

  it('refuses alg none, RS256 and HS512 tokens', async () => {
    const unsigned = dellStyleToken(OLD_SECRET, tenantClaims, { alg: 'none', typ: 'JWT' }).replace(/[^.]+$/, '');
    await expectTokenError(verifier().verify(unsigned), 'unsupported-algorithm');
    await expectTokenError(verifier().verify(dellStyleToken(OLD_SECRET, tenantClaims, { alg: 'RS256' })), 'unsupported-algorithm');
    const hs512 = await new SignJWT(tenantClaims).setProtectedHeader({ alg: 'HS512' }).sign(new TextEncoder().encode(OLD_SECRET));
    await expectTokenError(verifier().verify(hs512), 'unsupported-algorithm');
  });

  it('refuses a token signed with another secret, and garbage', async () => {
    await expectTokenError(verifier().verify(dellStyleToken(NEW_SECRET, tenantClaims)), 'bad-signature');
    const tampered = dellStyleToken(OLD_SECRET, tenantClaims).split('.');
    tampered[1] = Buffer.from(JSON.stringify({ ...tenantClaims, group: 'tenant-b' })).toString('base64url');
    await expectTokenError(verifier().verify(tampered.join('.')), 'bad-signature');
    await expectTokenError(verifier().verify('not-a-jwt'), 'malformed');
    await expectTokenError(verifier().verify(dellStyleToken(OLD_SECRET, { ...tenantClaims, exp: undefined })), 'malformed');
  });

  it('allows clock skew up to 30 s past exp, then refuses as expired', async () => {
    const token = dellStyleToken(OLD_SECRET, tenantClaims);
    clock = tenantClaims.exp + 29;
    expect((await verifier().verify(token)).group).to.equal('tenant-a');
    clock = tenantClaims.exp + 30;
    const error = await expectTokenError(verifier().verify(token), 'expired');
    expect(error.message).to.contain(new Date(tenantClaims.exp * 1000).toISOString());
  });

  it('accepts Dell v1.6 (karavi) and v1.7+ (csm) issuers and audiences by default, each configurable', async () => {
    const v1 = dellStyleToken(OLD_SECRET, { ...tenantClaims, iss: 'com.dell.karavi', aud: 'karavi', sub: 'karavi-tenant' });
    expect((await verifier().verify(v1)).sub).to.equal('karavi-tenant');
    await expectTokenError(verifier().verify(dellStyleToken(OLD_SECRET, { ...tenantClaims, aud: 'other' })), 'wrong-audience');
    const strict = new TokenVerifier({ keys: () => keys, now: () => clock, issuers: ['com.dell.csm'], audiences: ['csm', 'karavi'] });
    await expectTokenError(strict.verify(v1), 'wrong-issuer');
    const csmAudience = new TokenVerifier({ keys: () => keys, now: () => clock, audiences: ['csm'] });
    await expectTokenError(csmAudience.verify(v1), 'wrong-audience');
  });

  it('rotates keys: old tokens work while the old key is kept, fail once it is removed', async () => {
    const oldPair = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'tenant-a', roles: ['bronze'], accessTtlSeconds: 300, refreshTtlSeconds: 600, now: NOW });
    const v = verifier();
    keys = keySet('k2', { k1: OLD_SECRET, k2: NEW_SECRET });
    const newPair = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'tenant-a', roles: ['bronze'], accessTtlSeconds: 300, refreshTtlSeconds: 600, now: NOW });
    expect(decodeProtectedHeader(newPair.access).kid).to.equal('k2');
    expect((await v.verify(oldPair.access)).group).to.equal('tenant-a');
    expect((await v.verify(newPair.access)).group).to.equal('tenant-a');
    // Dell tokens (no kid) follow the default key.
    await expectTokenError(v.verify(dellStyleToken(OLD_SECRET, tenantClaims)), 'bad-signature');

    keys = keySet('k2', { k2: NEW_SECRET });
    await expectTokenError(v.verify(oldPair.access), 'unknown-key');
    expect((await v.verify(newPair.access)).group).to.equal('tenant-a');
  });

  it('refuses time claims outside Date\'s range with a TokenError, not a RangeError (fuzz finding)', async () => {
    const error = await expectTokenError(verifier().verify(dellStyleToken(OLD_SECRET, { ...tenantClaims, exp: -1e300 })), 'expired');
    expect(error.message).to.equal('token expired at -1e+300 (unix seconds)');
    await expectTokenError(verifier().verify(dellStyleToken(OLD_SECRET, { ...tenantClaims, nbf: 1e300 })), 'not-yet-valid');
  });

  it('refuses nbf or iat beyond the clock skew (401 not-yet-valid), accepts them within it', async () => {
    for (const claim of ['nbf', 'iat']) {
      const error = await expectTokenError(verifier().verify(dellStyleToken(OLD_SECRET, { ...tenantClaims, [claim]: NOW + 3600 })), 'not-yet-valid');
      expect(error.message).to.contain(new Date((NOW + 3600) * 1000).toISOString()).and.contain(`(${claim})`);
      expect((await verifier().verify(dellStyleToken(OLD_SECRET, { ...tenantClaims, [claim]: NOW + 30 }))).group).to.equal('tenant-a');
      await expectTokenError(verifier().verify(dellStyleToken(OLD_SECRET, { ...tenantClaims, [claim]: 'soon' })), 'malformed');
    }
  });

  it('tells access from refresh by token_use, and Dell-minted (unmarked) tokens by lifetime', async () => {
    const pair = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'tenant-a', roles: ['bronze'], accessTtlSeconds: 7200, refreshTtlSeconds: 86400, now: NOW });
    // Marked: the marker decides, even for an access token living longer than the configured maximum.
    expect((await verifier().verify(pair.access)).token_use).to.equal('access');
    await expectTokenError(verifier().verify(pair.refresh), 'wrong-kind');
    await expectTokenError(verifier().verify(pair.access, 'refresh'), 'wrong-kind');
    expect((await verifier().verify(pair.refresh, 'refresh')).token_use).to.equal('refresh');
    // Unmarked, no iat (Dell): what is left of the lifetime against the 30 min default (+ skew).
    const dell = (exp: number) => dellStyleToken(OLD_SECRET, { ...tenantClaims, exp });
    expect((await verifier().verify(dell(NOW + 1830))).group).to.equal('tenant-a');
    await expectTokenError(verifier().verify(dell(NOW + 1831)), 'wrong-kind');
    expect((await verifier().verify(dell(NOW + 720 * 3600), 'refresh')).group).to.equal('tenant-a');
    // Unmarked with iat: the whole lifetime, so a refresh token stays one until it expires.
    const withIat = dellStyleToken(OLD_SECRET, { ...tenantClaims, iat: NOW - 86_000, exp: NOW + 400 });
    await expectTokenError(verifier().verify(withIat), 'wrong-kind');
    const short = new TokenVerifier({ keys: () => keys, now: () => clock, maxAccessTtlSeconds: 60 });
    await expectTokenError(short.verify(dell(NOW + 300)), 'wrong-kind');
    await expectTokenError(verifier().verify(dellStyleToken(OLD_SECRET, { ...tenantClaims, token_use: 'id' })), 'malformed');
  });

  it('does not serve a cached verification after the token expires', async () => {
    const v = verifier();
    const token = dellStyleToken(OLD_SECRET, tenantClaims);
    await v.verify(token);
    clock = tenantClaims.exp + 30;
    await expectTokenError(v.verify(token), 'expired');
  });

  it('does not serve a cached verification after the key changes', async () => {
    const v = verifier();
    const token = dellStyleToken(OLD_SECRET, tenantClaims);
    await v.verify(token);
    keys = keySet('k1', { k1: NEW_SECRET });
    await expectTokenError(v.verify(token), 'bad-signature');
  });

  it('keeps the cache bounded and still verifies evicted tokens', async () => {
    const v = new TokenVerifier({ keys: () => keys, now: () => clock, cacheSize: 2 });
    const tokens = ['a', 'b', 'c'].map((group) => dellStyleToken(OLD_SECRET, { ...tenantClaims, group }));
    for (const token of tokens) await v.verify(token);
    expect((await v.verify(tokens[0]!)).group).to.equal('a');
  });

  it('verifyAllowingExpiry returns an expired token\'s claims but still checks the signature', async () => {
    const v = verifier();
    clock = tenantClaims.exp + 3600;
    expect((await v.verifyAllowingExpiry(dellStyleToken(OLD_SECRET, tenantClaims))).group).to.equal('tenant-a');
    await expectTokenError(v.verifyAllowingExpiry(dellStyleToken(NEW_SECRET, tenantClaims)), 'bad-signature');
  });

  it('mints an access token from refresh claims with a fresh exp', async () => {
    const pair = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'tenant-a', roles: ['bronze'], accessTtlSeconds: 60, refreshTtlSeconds: 600, now: NOW });
    const refreshClaims = await verifier().verify(pair.refresh, 'refresh');
    clock = NOW + 100;
    const access = await mintAccessFromRefresh(refreshClaims, keys, 30, clock);
    const claims = await verifier().verify(access);
    expect(claims).to.deep.equal({ ...refreshClaims, iat: NOW + 100, token_use: 'access', exp: NOW + 130 });
  });

  it('refuses to mint with a non-positive lifetime or a role containing a comma', async () => {
    const base = { keys, subject: 'csm-tenant' as const, group: 'tenant-a', roles: ['bronze'], accessTtlSeconds: 60, refreshTtlSeconds: 600 };
    for (const bad of [{ accessTtlSeconds: 0 }, { refreshTtlSeconds: -1 }, { roles: ['a,b'] }, { group: '' }]) {
      expect(await rejectionOf(mintTokenPair({ ...base, ...bad })), JSON.stringify(bad)).to.be.instanceOf(MintError);
    }
  });
});
