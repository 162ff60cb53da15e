// Tenant token refresh, Dell's `POST /proxy/refresh-token/` contract (reference §2.4), transport-free:
// the admin HTTP handler passes the request body in and writes the returned status and JSON body out.
//
// Where we differ from Dell, on purpose:
// - Dell refuses a refresh while the access token is still valid, so its sidecar can only refresh
//   after a request has failed. We also accept a refresh once the access token is in the last half
//   of its lifetime (when it carries `iat`) or within `earlyWindowSeconds` of expiry, so a sidecar
//   can refresh proactively and the driver never sees an expired token.
// - Revocation and the tenant's existence come from the live resources (CSMTenant `revoke: true`).
// - The new token carries the tenant's *current* role bindings (Dell copies the refresh token's
//   roles, so role changes needed a brand-new token: csm#391), and never outlives the refresh token.
// - Each token must be of its kind (`token_use`, or for Dell-minted tokens their lifetime): an
//   access token in the refreshToken field is refused, so a leaked access token cannot be extended.
// - Errors are 401 (400 for a malformed body) with Dell's JSON error shape plus a machine-readable
//   `reason`, instead of Dell's 500 with plain text.
import type { ResourceSource } from '../resources/types.js';
import { mintAccessFromRefresh } from './mint.js';
import type { SigningKeySet, TokenClaims } from './types.js';
import { isoTime, TokenError, type TokenVerifier } from './verify.js';

export type RefreshRefusal =
  | 'malformed-request'
  | 'refresh-token-invalid'
  | 'refresh-token-expired'
  | 'access-token-invalid'
  | 'access-token-still-valid'
  | 'token-pair-mismatch'
  | 'wrong-token-kind'
  | 'not-a-tenant-token'
  | 'tenant-unknown'
  | 'tenant-revoked';

export type RefreshResult =
  | { status: 200; body: { accessToken: string } }
  | { status: 400 | 401; body: { error: string; code: 400 | 401; reason: RefreshRefusal } };

export interface RefreshDeps {
  verifier: Pick<TokenVerifier, 'verify' | 'verifyAllowingExpiry' | 'tenantSubjects'>;
  keys: () => SigningKeySet;
  resources: Pick<ResourceSource, 'current'>;
  /** Lifetime of a refreshed access token. */
  accessTtlSeconds: number;
  /** A refresh is accepted this close to the access token's expiry, whatever its lifetime. */
  earlyWindowSeconds: number;
  /** Unix seconds; for tests. */
  now?: () => number;
}

/** Dell hands out 30 s; five minutes is Dell's tenant-service default for a new access token. */
export const DEFAULT_REFRESHED_ACCESS_TTL_SECONDS = 300;
export const DEFAULT_EARLY_REFRESH_WINDOW_SECONDS = 60;

const WRONG_KIND = 'the token pair is swapped or holds one kind twice: send the access and refresh tokens as they were issued';

export async function refreshTenantToken(body: unknown, deps: RefreshDeps): Promise<RefreshResult> {
  const pair = parsePair(body);
  if (typeof pair === 'string') return refuse(400, 'malformed-request', pair);
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));

  let refresh: TokenClaims;
  try {
    refresh = await deps.verifier.verify(pair.refreshToken, 'refresh');
  } catch (error) {
    if (error instanceof TokenError && error.code === 'wrong-kind') return refuse(401, 'wrong-token-kind', WRONG_KIND);
    if (error instanceof TokenError && error.code === 'expired') {
      return refuse(401, 'refresh-token-expired', 'the refresh token has expired; the storage admin must issue a new token pair for this tenant');
    }
    return refuse(401, 'refresh-token-invalid', `the refresh token is not valid: ${describe(error)}`);
  }

  let access: TokenClaims;
  try {
    access = await deps.verifier.verifyAllowingExpiry(pair.accessToken, 'access');
  } catch (error) {
    if (error instanceof TokenError && error.code === 'wrong-kind') return refuse(401, 'wrong-token-kind', WRONG_KIND);
    return refuse(401, 'access-token-invalid', `the access token is not valid: ${describe(error)}`);
  }

  const tenantSubjects = deps.verifier.tenantSubjects;
  if (!tenantSubjects.includes(refresh.sub) || !tenantSubjects.includes(access.sub)) {
    return refuse(401, 'not-a-tenant-token', 'these are not tenant tokens; admin tokens are refreshed at /proxy/refresh-admin/');
  }
  if (access.group !== refresh.group || access.sub !== refresh.sub || access.iss !== refresh.iss || access.aud !== refresh.aud) {
    return refuse(401, 'token-pair-mismatch', 'the access and refresh tokens do not belong to the same tenant');
  }

  const tenant = deps.resources.current().tenants.get(refresh.group);
  if (!tenant) return refuse(401, 'tenant-unknown', `tenant "${refresh.group}" does not exist`);
  if (tenant.revoke) {
    return refuse(401, 'tenant-revoked', `tenant "${refresh.group}" has been revoked; the storage admin must cancel the revocation`);
  }

  const nowSeconds = now();
  if (!refreshableNow(access, nowSeconds, deps.earlyWindowSeconds)) {
    return refuse(401, 'access-token-still-valid', `the access token is still valid until ${isoTime(access.exp)}; refresh closer to its expiry`);
  }

  // Never outlive the refresh token: its expiry is what the storage admin granted.
  const ttl = Math.min(deps.accessTtlSeconds, refresh.exp - nowSeconds);
  const claims: TokenClaims = { ...refresh, roles: tenant.roles.join(',') };
  const accessToken = await mintAccessFromRefresh(claims, deps.keys(), Math.max(ttl, 1), nowSeconds);
  return { status: 200, body: { accessToken } };
}

/** In the last half of its lifetime (when `iat` says what that is), within the early window, or expired. */
function refreshableNow(access: TokenClaims, now: number, earlyWindowSeconds: number): boolean {
  const remaining = access.exp - now;
  if (remaining <= earlyWindowSeconds) return true;
  return access.iat !== undefined && remaining <= (access.exp - access.iat) / 2;
}

/** Dell's Go handler decodes `{refreshToken, accessToken}` with case-insensitive field names. */
function parsePair(body: unknown): { refreshToken: string; accessToken: string } | string {
  let value = body;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      value = JSON.parse(value.toString());
    } catch {
      return 'the request body is not JSON; expected {"refreshToken": "...", "accessToken": "..."}';
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'the request body must be a JSON object {"refreshToken": "...", "accessToken": "..."}';
  }
  const fields = new Map(Object.entries(value).map(([key, field]) => [key.toLowerCase(), field]));
  const refreshToken = fields.get('refreshtoken');
  const accessToken = fields.get('accesstoken');
  if (typeof refreshToken !== 'string' || refreshToken === '') return '"refreshToken" is missing or not a string';
  if (typeof accessToken !== 'string' || accessToken === '') return '"accessToken" is missing or not a string';
  return { refreshToken, accessToken };
}

function refuse(code: 400 | 401, reason: RefreshRefusal, error: string): RefreshResult {
  return { status: code, body: { error, code, reason } };
}

function describe(error: unknown): string {
  return error instanceof TokenError ? error.message : 'it could not be verified';
}
