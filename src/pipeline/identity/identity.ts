// Identity phase: `Authorization: Bearer <jwt>` → verified claims → the live Tenant (DESIGN.md §2.1).
// Revocation and role bindings come from the live CSMTenant on every request, not from the token,
// so revoking a tenant or unbinding a role takes effect on the next request (Dell: only at refresh).
// Only access tokens with a tenant subject pass: a refresh token (which lives far longer) is refused.
import { storageKey, type ResourceSnapshot, type Role, type StorageSystem, type Tenant } from '../../resources/types.js';
import type { ServiceAccountIdentity } from '../../tokens/serviceAccount.js';
import { TokenError } from '../../tokens/verify.js';
import type { TokenClaims } from '../../tokens/types.js';
import { reject, type Rejection } from '../response/deny.js';

export interface TokenVerifying {
  /** Verifies an access token (the default kind). */
  verify(token: string): Promise<TokenClaims>;
  /** The `sub` values that name a tenant. */
  readonly tenantSubjects: readonly string[];
}

/** Tenant clusters' service-account tokens (CSMTenant spec.identities); see tokens/serviceAccount.ts. */
export interface ServiceAccountVerifying {
  /** undefined when the token is not a service-account token (a Dell token). */
  verify(token: string, resources: ResourceSnapshot): Promise<ServiceAccountIdentity | undefined>;
}

export interface Identity {
  claims: TokenClaims;
  tenant: Tenant;
  /** storageKey of every system one of the tenant's live roles names. */
  systems: ReadonlySet<string>;
  /** The tenant's live roles (those its CSMTenant names that exist). */
  roles: readonly Role[];
}

const ADMIN_SUBJECT = 'csm-admin';

/** The bearer token of an Authorization header value, or a 401 saying why there is none. */
export function bearerToken(authorization: string | undefined): string | Rejection {
  if (!authorization) return reject(401, 'missing-token', 'missing Authorization header');
  const match = /^Bearer +(\S+)$/i.exec(authorization.trim());
  // Dell passes Basic and other schemes through unauthenticated; here every scheme but Bearer is refused.
  if (!match?.[1]) return reject(401, 'invalid-authz-header', 'invalid authz header: expected "Bearer <token>"');
  return match[1];
}

export async function identify(
  authorization: string | undefined,
  verifier: TokenVerifying,
  resources: ResourceSnapshot,
  serviceAccounts?: ServiceAccountVerifying,
): Promise<Identity | Rejection> {
  const token = bearerToken(authorization);
  if (typeof token !== 'string') return token;
  let claims: TokenClaims;
  let tenant: Tenant | undefined;
  try {
    const workload = await serviceAccounts?.verify(token, resources);
    if (workload) ({ claims, tenant } = workload);
    else claims = await verifier.verify(token);
  } catch (error) {
    // TokenError messages name the problem, never the token; anything else is a service fault.
    // Keys that cannot be fetched are our outage, not the caller's bad token: 503, so the driver
    // retries, and nothing is allowed meanwhile (fail closed).
    if (error instanceof TokenError) return reject(error.code === 'keys-unavailable' ? 503 : 401, `token-${error.code}`, error.message);
    throw error;
  }
  if (!tenant) {
    if (claims.sub === ADMIN_SUBJECT) return reject(403, 'admin-token', 'admin tokens are not accepted on the storage data path');
    if (!verifier.tenantSubjects.includes(claims.sub)) {
      return reject(401, 'token-not-tenant', `token subject "${claims.sub}" is not a tenant subject (accepted: ${verifier.tenantSubjects.join(', ')})`);
    }
    tenant = resources.tenants.get(claims.group);
    if (!tenant) return reject(403, 'unknown-tenant', `tenant "${claims.group}" is not configured`);
  }
  if (tenant.revoke) return reject(401, 'tenant-revoked', 'tenant has been revoked');
  const systems = new Set<string>();
  const roles: Role[] = [];
  for (const name of tenant.roles) {
    const role = resources.roles.get(name);
    if (!role) continue;
    systems.add(storageKey(role.systemType, role.systemID));
    roles.push(role);
  }
  return { claims, tenant, systems, roles };
}

/**
 * A read is passed to the array as it is, and the array answers with everything it has (every
 * tenant's volumes). So a tenant may read a system only while one of its live roles names it;
 * mutations are held to their policy and to ownership instead.
 */
export function readAccess(who: Pick<Identity, 'tenant' | 'systems'>, system: StorageSystem): Rejection | undefined {
  if (who.systems.has(storageKey(system.type, system.systemID))) return undefined;
  return reject(403, 'no-role-on-system', `read denied: tenant "${who.tenant.name}" has no role on ${system.type} system "${system.systemID}"`);
}
