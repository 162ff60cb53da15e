// Tenant token pairs for the driver's `proxy-authz-tokens` Secret (reference §2.3). Unlike Dell's
// tenant-service, a revoked tenant, a tenant without roles, or one bound to a role that does not
// exist gets no token: each is refused with the reason, so the admin fixes the binding first.
import { stringify } from 'yaml';
import type { ResourceSnapshot, Tenant } from '../resources/types.js';
import type { TokenPair } from '../tokens/mint.js';
import { parseGoDuration } from './duration.js';
import { HttpError } from './http.js';

/** The Secret name Dell's sidecar and CSI driver charts read the tokens from. */
export const TOKEN_SECRET_NAME = 'proxy-authz-tokens';

export interface TokenLifetimes {
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

/** Dell's tenant-service defaults when the request names no lifetime (reference §2.2). */
export const DEFAULT_TENANT_LIFETIMES: TokenLifetimes = { accessTtlSeconds: 5 * 60, refreshTtlSeconds: 24 * 3600 };

// A refresh token outliving the signing key by years is a leak waiting to happen; ten years is far
// above any sensible rotation period and keeps `exp` well inside safe integers.
const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;

/** The tenant, if it may receive a token now; otherwise a 404/409 saying why not. */
export function tenantEligibleForToken(snapshot: ResourceSnapshot, name: string): Tenant {
  const tenant = snapshot.tenants.get(name);
  if (!tenant) throw new HttpError(404, `tenant "${name}" not found`);
  if (tenant.revoke) {
    throw new HttpError(409, `tenant "${name}" is revoked; cancel the revocation (authzctl tenant revoke --cancel) before generating a token`);
  }
  if (tenant.roles.length === 0) {
    throw new HttpError(409, `tenant "${name}" has no roles; bind one first (authzctl rolebinding create --tenant ${name} --role <role>)`);
  }
  const unknown = tenant.roles.filter((role) => !snapshot.roles.has(role));
  if (unknown.length > 0) {
    throw new HttpError(409, `tenant "${name}" is bound to role(s) that do not exist: ${unknown.join(', ')}`);
  }
  return tenant;
}

/** Lifetimes from Go duration strings ("1m0s", "720h"); a missing one takes its default. */
export function parseLifetimes(access: string | undefined, refresh: string | undefined, defaults: TokenLifetimes): TokenLifetimes {
  const accessTtlSeconds = access === undefined || access === '' ? defaults.accessTtlSeconds : ttlSeconds('accessTokenTTL', access);
  const refreshTtlSeconds = refresh === undefined || refresh === '' ? defaults.refreshTtlSeconds : ttlSeconds('refreshTokenTTL', refresh);
  if (accessTtlSeconds > refreshTtlSeconds) {
    throw new HttpError(400, 'accessTokenTTL must not be longer than refreshTokenTTL');
  }
  return { accessTtlSeconds, refreshTtlSeconds };
}

function ttlSeconds(field: string, text: string): number {
  let ms: number;
  try {
    ms = parseGoDuration(text);
  } catch (error) {
    throw new HttpError(400, `${field}: ${(error as Error).message}`);
  }
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) throw new HttpError(400, `${field} must be at least 1s, got "${text}"`);
  if (seconds > MAX_TTL_SECONDS) throw new HttpError(400, `${field} must be at most ${MAX_TTL_SECONDS / 3600}h, got "${text}"`);
  return seconds;
}

/** The Kubernetes v1 Secret manifest (YAML) that `kubectl apply -f -` accepts, as Dell returns it. */
export function tokenSecretManifest(pair: TokenPair): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: TOKEN_SECRET_NAME },
    type: 'Opaque',
    data: {
      access: Buffer.from(pair.access, 'utf8').toString('base64'),
      refresh: Buffer.from(pair.refresh, 'utf8').toString('base64'),
    },
  });
}
