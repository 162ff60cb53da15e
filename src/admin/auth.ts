// Admin authentication: a valid token whose subject is `csm-admin`. Dell v1 accepted any valid token
// on its admin endpoints (reference §1.3, §11.12); here a tenant token is refused with 403.
import type http from 'node:http';
import { identify, type TokenVerifying } from '../pipeline/identity/identity.js';
import { isRejection } from '../pipeline/response/deny.js';
import type { ResourceSnapshot, Tenant } from '../resources/types.js';
import type { TokenClaims, TokenKind } from '../tokens/types.js';
import { TokenError, type TokenVerifier } from '../tokens/verify.js';
import { HttpError } from './http.js';

export const ADMIN_SUBJECT = 'csm-admin';

/** The raw token of `Authorization: Bearer <token>`; 401 when absent or not exactly that shape. */
export function bearerToken(req: http.IncomingMessage): string {
  const header = req.headers.authorization;
  if (!header) throw new HttpError(401, 'missing Authorization header; send an admin token as "Bearer <token>"');
  // Dell splits on a single space into exactly two parts (reference §1.3).
  const parts = header.split(' ');
  if (parts.length !== 2 || parts[0] !== 'Bearer' || !parts[1]) throw new HttpError(401, 'invalid authz header');
  return parts[1];
}

/**
 * Claims of the caller's admin token of the given kind (an access token everywhere but the admin
 * refresh); 401 for a missing or invalid token or one of the wrong kind, 403 for a non-admin token.
 */
export async function authenticateAdmin(req: http.IncomingMessage, verifier: TokenVerifier, kind: TokenKind = 'access'): Promise<TokenClaims> {
  const claims = await verifyOr401(verifier, bearerToken(req), kind);
  if (claims.sub !== ADMIN_SUBJECT) {
    throw new HttpError(403, `admin token required; this token's subject is "${claims.sub}"`);
  }
  return claims;
}

async function verifyOr401(verifier: TokenVerifier, token: string, kind: TokenKind): Promise<TokenClaims> {
  try {
    return await verifier.verify(token, kind);
  } catch (error) {
    // TokenError messages name the reason (expired, bad signature, unknown key), never the token.
    if (error instanceof TokenError) throw new HttpError(401, `invalid token: ${error.message}`);
    throw error;
  }
}

/** Who called an endpoint that both admins and tenants may use. */
export type Caller = { kind: 'admin'; claims: TokenClaims } | { kind: 'tenant'; claims: TokenClaims; tenant: Tenant };

/**
 * An admin access token, or a tenant access token judged exactly as on the data path (tenant subject,
 * a configured tenant, not revoked: Dell checks revocation on /proxy/volumes/ too, reference §2.5).
 */
export async function authenticateCaller(req: http.IncomingMessage, verifier: TokenVerifier, resources: ResourceSnapshot): Promise<Caller> {
  const claims = await verifyOr401(verifier, bearerToken(req), 'access');
  if (claims.sub === ADMIN_SUBJECT) return { kind: 'admin', claims };
  const verified: TokenVerifying = { verify: () => Promise.resolve(claims), tenantSubjects: verifier.tenantSubjects };
  const who = await identify(req.headers.authorization, verified, resources);
  if (isRejection(who)) throw new HttpError(who.status, who.message);
  return { kind: 'tenant', claims, tenant: who.tenant };
}
