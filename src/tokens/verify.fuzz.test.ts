// Property tests (fast-check, bounded runs) of JWT parsing and claim checks: any token, signed or
// not, with any claims, is either a TokenError (the caller answers 401) or claims that hold every
// rule — never another exception (which would be a 503) and never a token of the wrong kind.
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import type { SigningKeySet, TokenClaims } from './types.js';
import { TokenError, TokenVerifier } from './verify.js';

const SECRET = 'fuzz-test-signing-key-0123456789abcdefghij';
const NOW = 1_700_000_000;
const SKEW = 30;
const keys: SigningKeySet = { defaultKid: 'k1', keys: new Map([['k1', new TextEncoder().encode(SECRET)]]) };
const verifier = new TokenVerifier({ keys: () => keys, now: () => NOW, clockSkewSeconds: SKEW, cacheSize: 0 });

const encode = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value) ?? '').toString('base64url');
function signed(header: unknown, payload: unknown): string {
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

/** Mostly valid, sometimes anything: so that both acceptance and every refusal get exercised. */
const mostly = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<unknown>) => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: other });
const garbage = fc.oneof(fc.double(), fc.constantFrom(1e300, -1e300, 8.64e15, 0, null, true), fc.string({ maxLength: 4 }), fc.array(fc.integer(), { maxLength: 2 }));
const time = mostly(fc.integer({ min: NOW - 4000, max: NOW + 200_000 }), garbage);
const text = (...valid: string[]) => mostly(fc.constantFrom(...valid), fc.oneof(garbage, fc.string({ maxLength: 8 })));
const claims = fc.record({
  iss: text('com.dell.csm', 'com.dell.karavi'), aud: mostly(text('csm', 'karavi'), fc.array(text('csm'), { maxLength: 2 })),
  sub: text('csm-tenant', 'karavi-tenant', 'csm-admin'), group: text('team-a'), roles: text('bronze', ''),
  exp: time, iat: time, nbf: time, token_use: text('access', 'refresh'),
}, { requiredKeys: ['iss', 'aud', 'sub', 'group', 'roles', 'exp'] });
const header = mostly(
  fc.constant({ alg: 'HS256', typ: 'JWT' }),
  fc.record({ alg: fc.constantFrom('HS256', 'none', 'RS256', 'hs256'), kid: fc.oneof(fc.constantFrom('k1', 'gone'), fc.integer()) }, { requiredKeys: ['alg'] }),
);

async function outcome(token: string, kind: 'access' | 'refresh'): Promise<TokenClaims | TokenError> {
  try {
    return await verifier.verify(token, kind);
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(TokenError);
    return error as TokenError;
  }
}

describe('TokenVerifier (fuzz)', () => {
  it('answers any string with a TokenError, never another exception', async () => {
    const parts = fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.base64String({ maxLength: 40 })), { minLength: 1, maxLength: 4 }).map((p) => p.join('.'));
    await fc.assert(fc.asyncProperty(fc.oneof(parts, fc.string({ unit: 'binary', maxLength: 60 })), async (token) => {
      expect(await outcome(token, 'access')).to.be.instanceOf(TokenError);
    }), { numRuns: 800 });
  });

  it('accepts a signed token only when every claim holds, and only as its own kind', async () => {
    let accepted = 0;
    await fc.assert(fc.asyncProperty(header, claims, fc.constantFrom('access', 'refresh') as fc.Arbitrary<'access' | 'refresh'>, async (h, payload, kind) => {
      const result = await outcome(signed(h, payload), kind);
      if (result instanceof TokenError) return;
      accepted++;
      for (const name of ['iss', 'aud', 'sub', 'group', 'roles'] as const) expect(result[name]).to.be.a('string');
      expect(['com.dell.csm', 'com.dell.karavi']).to.include(result.iss);
      expect(['csm', 'karavi']).to.include(result.aud);
      expect(result.exp + SKEW).to.be.above(NOW);
      if (result.nbf !== undefined) expect(result.nbf).to.be.at.most(NOW + SKEW);
      if (result.iat !== undefined) expect(result.iat).to.be.at.most(NOW + SKEW);
      expect(verifier.kindOf(result)).to.equal(kind);
      if (result.token_use !== undefined) expect(result.token_use).to.equal(kind);
    }), { numRuns: 1500 });
    expect(accepted, 'accepted tokens among the generated ones').to.be.above(0);
  });
});
