// Mints Dell-compatible token pairs (reference §2.1): HS256 (or ES256/EdDSA when the default key is
// asymmetric, for verifiers that should need no shared secret), claims iss/aud/sub/group/roles/exp (+iat),
// `aud` a plain string. The header carries the `kid` of the signing key so keys can rotate, and the
// claim `token_use` says whether a token is an access or a refresh token, so neither is accepted
// where the other is expected; Dell's sidecar treats tokens as opaque, so both are harmless to it.
import { SignJWT } from 'jose';
import type { SigningKeySet, TokenClaims, TokenSubject } from './types.js';

export const DEFAULT_ISSUER = 'com.dell.csm';
export const DEFAULT_AUDIENCE = 'csm';

export interface TokenPair {
  access: string;
  refresh: string;
}

export interface MintTokenPairOptions {
  keys: SigningKeySet;
  subject: TokenSubject;
  /** Tenant name for tenant tokens, admin name for admin tokens (the `group` claim). */
  group: string;
  /** Role names bound to the tenant; empty for admin tokens. */
  roles: readonly string[];
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  issuer?: string;
  audience?: string;
  /** Unix seconds; defaults to the current time. */
  now?: number;
}

export class MintError extends Error {
  override name = 'MintError';
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function assertTtl(seconds: number, label: string): void {
  if (!Number.isInteger(seconds) || seconds <= 0) throw new MintError(`${label} must be a positive whole number of seconds, got ${seconds}`);
}

/** Access and refresh tokens with Dell's claims, identical except `exp` and `token_use`. */
export async function mintTokenPair(options: MintTokenPairOptions): Promise<TokenPair> {
  assertTtl(options.accessTtlSeconds, 'access token lifetime');
  assertTtl(options.refreshTtlSeconds, 'refresh token lifetime');
  if (!options.group) throw new MintError('a token needs a tenant or admin name (group)');
  const badRole = options.roles.find((role) => !role || role.includes(','));
  if (badRole !== undefined) throw new MintError(`role name "${badRole}" cannot be put in a token (empty or contains a comma)`);

  const iat = options.now ?? nowSeconds();
  const base = {
    iss: options.issuer ?? DEFAULT_ISSUER,
    aud: options.audience ?? DEFAULT_AUDIENCE,
    sub: options.subject,
    group: options.group,
    roles: options.roles.join(','),
    iat,
  };
  const [access, refresh] = await Promise.all([
    signClaims({ ...base, token_use: 'access', exp: iat + options.accessTtlSeconds }, options.keys),
    signClaims({ ...base, token_use: 'refresh', exp: iat + options.refreshTtlSeconds }, options.keys),
  ]);
  return { access, refresh };
}

/**
 * A new access token carrying the refresh token's identity claims with a fresh `exp` (Dell: now + 30 s),
 * for the refresh endpoints. The caller has already verified the refresh token and the tenant's standing.
 */
export async function mintAccessFromRefresh(refreshClaims: TokenClaims, keys: SigningKeySet, ttlSeconds: number, now = nowSeconds()): Promise<string> {
  assertTtl(ttlSeconds, 'access token lifetime');
  const { iss, aud, sub, group, roles } = refreshClaims;
  return signClaims({ iss, aud, sub, group, roles, iat: now, token_use: 'access', exp: now + ttlSeconds }, keys);
}

/** Signs with the default key (HS256, or the asymmetric key's algorithm) and names it in the header. */
async function signClaims(claims: TokenClaims, keys: SigningKeySet): Promise<string> {
  const asymmetric = keys.asymmetric?.get(keys.defaultKid);
  const secret = keys.keys.get(keys.defaultKid);
  if (!asymmetric && !secret) throw new MintError(`default signing key "${keys.defaultKid}" is not loaded`);
  // SignJWT would turn `aud` into whatever was passed; a string keeps Dell's flattened form.
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: asymmetric?.alg ?? 'HS256', typ: 'JWT', kid: keys.defaultKid })
    .sign(asymmetric?.privateKey ?? (secret as Uint8Array));
}
