// Verifies Dell-compatible tokens: HS256, or ES256/EdDSA for tokens signed with one of our asymmetric
// keys (named by `kid`, which fixes the algorithm), `kid` selects the key, iss/aud checked against
// configured lists, `exp`, `nbf` and `iat` with a small clock-skew allowance, and the token's kind
// (access or refresh) against what the caller expects. Successful verifications are cached (this
// runs on every proxied request) until the token expires or the key set changes.
//
// Token kinds: an access and a refresh token of a pair carry the same claims except `exp` (Dell), so
// without more a leaked 24 h refresh token would be a 24 h access token. Tokens this service mints
// say what they are in `token_use`. A token without it (Dell-minted) is a refresh token when its
// lifetime — `exp - iat`, or, since Dell's tokens carry no `iat`, what is left of it (`exp - now`) —
// exceeds the longest access lifetime configured (`maxAccessTtlSeconds`). The limit of that rule: a
// Dell refresh token in the last `maxAccessTtlSeconds` of its life passes as an access token.
//
// Key selection: `kid` names the key. A token without a kid (every Dell-minted token), or naming a
// kid that is not loaded, is verified with the default key (issue: "tokens without a known kid use
// the configured default key"). If an unknown-kid token does not verify with the default key, the
// error is 'unknown-key' — its key was most likely removed on purpose (rotation) — rather than a
// misleading 'bad-signature'.
import type { KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, errors as joseErrors } from 'jose';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from './mint.js';
import type { AsymmetricAlgorithm, SigningKeySet, TokenClaims, TokenKind } from './types.js';

export type TokenErrorCode =
  | 'malformed'
  | 'bad-signature'
  | 'expired'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'unsupported-algorithm'
  | 'unknown-key'
  | 'not-yet-valid'
  | 'wrong-kind'
  | 'wrong-subject'
  | 'keys-unavailable';

export class TokenError extends Error {
  override name = 'TokenError';
  constructor(
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface TokenVerifierOptions {
  /** Read on every verification, so a reloaded key set takes effect at once. */
  keys: () => SigningKeySet;
  issuers?: readonly string[];
  audiences?: readonly string[];
  clockSkewSeconds?: number;
  /** Subjects that name a tenant (data path, tenant refresh); Dell v0.1–v1.6 minted `karavi-tenant`. */
  tenantSubjects?: readonly string[];
  /** The longest access-token lifetime in use: an unmarked (Dell-minted) token living longer is a refresh token. */
  maxAccessTtlSeconds?: number;
  /** Most verified tokens remembered (least recently used evicted first). */
  cacheSize?: number;
  /** Unix seconds; for tests. */
  now?: () => number;
}

// Far above any real token (Dell's are ~250 bytes); bounds the work a garbage header can cause.
const MAX_TOKEN_LENGTH = 8192;
const HMAC_ALGORITHM = 'HS256';
const ASYMMETRIC_ALGORITHMS: readonly AsymmetricAlgorithm[] = ['ES256', 'EdDSA'];

// Every Dell release up to v1.6.0 minted `com.dell.karavi`/`karavi`/`karavi-tenant` (v1.7.0 switched to
// the csm values), and Dell's refresh tokens last 720 h: both generations are in use on migration day.
export const DEFAULT_ACCEPTED_ISSUERS: readonly string[] = [DEFAULT_ISSUER, 'com.dell.karavi'];
export const DEFAULT_ACCEPTED_AUDIENCES: readonly string[] = [DEFAULT_AUDIENCE, 'karavi'];
export const DEFAULT_TENANT_SUBJECTS: readonly string[] = ['csm-tenant', 'karavi-tenant'];
/** The longest access lifetime Dell documents (admin tokens, the v2 docs' tenant example): 30 min. */
export const DEFAULT_MAX_ACCESS_TTL_SECONDS = 30 * 60;

interface CachedVerification {
  claims: TokenClaims;
  keys: SigningKeySet;
}

export class TokenVerifier {
  private readonly keys: () => SigningKeySet;
  private readonly issuers: readonly string[];
  private readonly audiences: readonly string[];
  private readonly skew: number;
  private readonly maxAccessTtl: number;
  private readonly cacheSize: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, CachedVerification>();
  readonly tenantSubjects: readonly string[];

  constructor(options: TokenVerifierOptions) {
    this.keys = options.keys;
    this.issuers = options.issuers ?? DEFAULT_ACCEPTED_ISSUERS;
    this.audiences = options.audiences ?? DEFAULT_ACCEPTED_AUDIENCES;
    this.skew = options.clockSkewSeconds ?? 30;
    this.tenantSubjects = options.tenantSubjects ?? DEFAULT_TENANT_SUBJECTS;
    this.maxAccessTtl = options.maxAccessTtlSeconds ?? DEFAULT_MAX_ACCESS_TTL_SECONDS;
    this.cacheSize = options.cacheSize ?? 10_000;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** The claims of a token of the `expected` kind, or a TokenError saying why it is not acceptable. */
  async verify(token: string, expected: TokenKind = 'access'): Promise<TokenClaims> {
    const keys = this.keys();
    const cached = this.cache.get(token);
    if (cached) {
      this.cache.delete(token);
      if (cached.keys === keys && !this.isExpired(cached.claims.exp)) {
        this.cache.set(token, cached); // most recently used goes last
        this.checkKind(cached.claims, expected);
        return cached.claims;
      }
    }
    const claims = await this.verifyWith(keys, token, expected, false);
    this.remember(token, { claims, keys });
    return claims;
  }

  /**
   * Like verify, but an expired token is accepted when everything else holds. Only for Dell's
   * refresh flow, which takes the claims of the expired access token (reference §2.4).
   */
  verifyAllowingExpiry(token: string, expected: TokenKind = 'access'): Promise<TokenClaims> {
    return this.verifyWith(this.keys(), token, expected, true);
  }

  /** The marker when the token has one; otherwise access unless it lives longer than any access token. */
  kindOf(claims: TokenClaims): TokenKind {
    if (claims.token_use) return claims.token_use;
    const lifetime = claims.exp - (claims.iat ?? this.now());
    return lifetime > this.maxAccessTtl + this.skew ? 'refresh' : 'access';
  }

  private checkKind(claims: TokenClaims, expected: TokenKind): void {
    if (this.kindOf(claims) === expected) return;
    throw new TokenError(
      'wrong-kind',
      expected === 'access'
        ? 'a refresh token is not accepted here: send the access token (the refresh token is only for the refresh endpoint)'
        : 'an access token is not accepted here: the refresh endpoint takes the refresh token',
    );
  }

  private isExpired(exp: number): boolean {
    return exp + this.skew <= this.now();
  }

  private remember(token: string, entry: CachedVerification): void {
    if (this.cacheSize <= 0) return;
    // A new key set makes every cached entry stale at once; drop them rather than let them age out.
    const first = this.cache.values().next();
    if (!first.done && first.value.keys !== entry.keys) this.cache.clear();
    while (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (oldest.done) break;
      this.cache.delete(oldest.value);
    }
    this.cache.set(token, entry);
  }

  private async verifyWith(keys: SigningKeySet, token: string, expected: TokenKind, allowExpired: boolean): Promise<TokenClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new TokenError('malformed', 'token is empty or too long');
    }
    let header: { alg?: unknown; kid?: unknown };
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenError('malformed', 'token is not a JWS compact serialization');
    }
    if (header.alg !== HMAC_ALGORITHM && !(ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(header.alg)) {
      throw new TokenError('unsupported-algorithm', `token algorithm ${JSON.stringify(header.alg)} is not accepted; only ${[HMAC_ALGORITHM, ...ASYMMETRIC_ALGORITHMS].join(', ')}`);
    }
    if (header.kid !== undefined && typeof header.kid !== 'string') throw new TokenError('malformed', 'token kid is not a string');
    let key: Uint8Array | KeyObject;
    let known: boolean;
    const kid = header.kid ?? keys.defaultKid;
    if (header.alg === HMAC_ALGORITHM) {
      known = keys.keys.has(kid);
      const secret = keys.keys.get(known ? kid : keys.defaultKid);
      // Only an unknown kid gets here (a known one has its secret): the default key is asymmetric.
      if (!secret) throw new TokenError('unknown-key', `HS256 token with key "${kid}", which is not (or no longer) loaded; the default key "${keys.defaultKid}" is no HMAC secret`);
      key = secret;
    } else {
      // An asymmetric token must name its key, and the key fixes the algorithm (no algorithm confusion).
      const asymmetric = header.kid === undefined ? undefined : keys.asymmetric?.get(header.kid);
      if (!asymmetric) throw new TokenError('unknown-key', `token was signed with key ${JSON.stringify(header.kid ?? null)}, which is not (or no longer) loaded`);
      if (asymmetric.alg !== header.alg) throw new TokenError('unsupported-algorithm', `token algorithm ${String(header.alg)} does not match key "${kid}" (${asymmetric.alg})`);
      ({ publicKey: key } = asymmetric);
      known = true;
    }

    let payloadBytes: Uint8Array;
    try {
      ({ payload: payloadBytes } = await compactVerify(token, key, { algorithms: [String(header.alg)] }));
    } catch (error) {
      if (!(error instanceof joseErrors.JWSSignatureVerificationFailed)) throw new TokenError('malformed', 'token is not a valid JWS');
      if (!known) throw new TokenError('unknown-key', `token was signed with key "${kid}", which is not (or no longer) loaded`);
      throw new TokenError('bad-signature', 'token signature does not match the signing key');
    }
    const claims = parseClaims(payloadBytes);
    this.checkClaims(claims, expected, allowExpired);
    return claims;
  }

  private checkClaims(claims: TokenClaims, expected: TokenKind, allowExpired: boolean): void {
    if (!this.issuers.includes(claims.iss)) {
      throw new TokenError('wrong-issuer', `token issuer "${claims.iss}" is not accepted`);
    }
    if (!this.audiences.includes(claims.aud)) {
      throw new TokenError('wrong-audience', `token audience "${claims.aud}" is not accepted`);
    }
    // Before expiry: a swapped pair is named as such even when the access token has expired.
    this.checkKind(claims, expected);
    if (!allowExpired && this.isExpired(claims.exp)) {
      throw new TokenError('expired', `token expired at ${isoTime(claims.exp)}`);
    }
    const latest = this.now() + this.skew;
    if (claims.nbf !== undefined && claims.nbf > latest) {
      throw new TokenError('not-yet-valid', `token is not valid before ${isoTime(claims.nbf)} (nbf); check the clock of the machine that minted it`);
    }
    if (claims.iat !== undefined && claims.iat > latest) {
      throw new TokenError('not-yet-valid', `token is issued in the future, at ${isoTime(claims.iat)} (iat); check the clock of the machine that minted it`);
    }
  }
}

/**
 * Dell's claims, normalised: `aud` may arrive as a one-element array from other JWT libraries.
 * `exp` is required: a token that never expires is not something this system issues or accepts.
 */
function parseClaims(payloadBytes: Uint8Array): TokenClaims {
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(new TextDecoder().decode(payloadBytes)) as Record<string, unknown>;
  } catch {
    throw new TokenError('malformed', 'token payload is not JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new TokenError('malformed', 'token payload is not a JSON object');
  }
  const aud = Array.isArray(payload.aud) && payload.aud.length === 1 ? payload.aud[0] : payload.aud;
  const { iss, sub, group, roles, exp, iat, nbf, token_use: use } = payload;
  for (const [name, value] of Object.entries({ iss, aud, sub, group, roles })) {
    if (typeof value !== 'string') throw new TokenError('malformed', `token claim "${name}" is missing or not a string`);
  }
  if (!isTime(exp)) throw new TokenError('malformed', 'token claim "exp" is missing or not a number');
  const claims: TokenClaims = { iss: iss as string, aud: aud as string, sub: sub as string, group: group as string, roles: roles as string, exp };
  // Optional, but when present they are checked, so a value that cannot be checked is refused.
  for (const [name, value] of [['iat', iat], ['nbf', nbf]] as const) {
    if (value === undefined) continue;
    if (!isTime(value)) throw new TokenError('malformed', `token claim "${name}" is not a number`);
    claims[name] = value;
  }
  if (use !== undefined) {
    if (use !== 'access' && use !== 'refresh') throw new TokenError('malformed', 'token claim "token_use" is neither "access" nor "refresh"');
    claims.token_use = use;
  }
  // Frozen: the same object is handed to every caller of a cached token.
  return Object.freeze(claims);
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** A time claim as ISO text; one far outside Date's range is shown as the number it is. */
export function isoTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? `${seconds} (unix seconds)` : date.toISOString();
}
