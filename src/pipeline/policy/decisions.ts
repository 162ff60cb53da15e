// The inputs each policy package takes and the reading of its decision document, for the policy
// phase of the decision service. Readers are strict: a document that is not the expected shape is
// an error (never an allow).
import type { Quota, SystemType } from '../../resources/types.js';
import type { TokenClaims } from '../../tokens/types.js';

/** karavi/volumes/create (PowerFlex) and karavi/volumes/powermax/create (pool = SRP). */
export interface VolumeCreateInput {
  claims: TokenClaims;
  /** PowerFlex: the driver's create body as sent (volumeSizeInKb is a decimal string); PowerMax: {volumeSizeInKb: number}. */
  request: { volumeSizeInKb: number | string } & Record<string, unknown>;
  /** Pool name (not id): quotas are keyed by name. */
  storagepool: string;
  storagesystemid: string;
  systemtype: SystemType;
}

/** karavi/volumes/powerstore/create: size in KiB; the quota is keyed by the systemID (no pools). */
export interface PowerStoreCreateInput {
  claims: TokenClaims;
  request: { size: number | string } & Record<string, unknown>;
  storagesystemid: string;
  systemtype: 'powerstore';
}

/** karavi/snapshot/create: one element per snapshot, each with its source volume's size and pool name. */
export interface SnapshotCreateInput {
  claims: TokenClaims;
  request: { name: string; volumeSizeInKb: number | string; storagepool: string }[];
  storagesystemid: string;
  systemtype: SystemType;
}

/** karavi/volumes/delete|map|unmap and karavi/sdc/approve. */
export interface ClaimsInput {
  claims: TokenClaims;
}

/** Quota decision of a create: the reasons are Dell's deny messages (joined with "," in Dell's 400 body). */
export interface QuotaDecision {
  allowed: boolean;
  reasons: string[];
  /** Role → quota in KiB (0 = unlimited) of every claimed role that permits the request. */
  permittedRoles: Record<string, number>;
}

/** Decision of delete/map/unmap/sdc approve. `group` is the tenant from the claims, '' when missing. */
export interface ResponseDecision {
  allowed: boolean;
  reason: string;
  group: string;
}

/** Reads a volume create document ({allow, deny, permitted_roles}) of create/powermax/powerstore. */
export function readVolumeCreateDecision(document: Record<string, unknown>): QuotaDecision {
  const { allow, deny, permitted_roles: permitted } = document;
  if (typeof allow !== 'boolean') throw malformed('allow is not a boolean');
  const reasons = readReasons(deny);
  if (!isRecord(permitted)) throw malformed('permitted_roles is not an object');
  const permittedRoles: Record<string, number> = {};
  for (const [role, quota] of Object.entries(permitted)) {
    if (typeof quota !== 'number') throw malformed(`permitted_roles.${role} is not a number`);
    permittedRoles[role] = quota;
  }
  return { allowed: allow && reasons.length === 0 && Object.keys(permittedRoles).length > 0, reasons, permittedRoles };
}

/** Reads a snapshot create document: permitted_roles is {<snapshot name>: [{size, storagepool, role}]}. */
export function readSnapshotCreateDecision(document: Record<string, unknown>): {
  allowed: boolean;
  reasons: string[];
  /** Snapshot name → role → quota in KiB (0 = unlimited). */
  permittedRoles: Record<string, Record<string, number>>;
} {
  const { allow, deny, permitted_roles: permitted } = document;
  if (typeof allow !== 'boolean') throw malformed('allow is not a boolean');
  const reasons = readReasons(deny);
  if (!isRecord(permitted)) throw malformed('permitted_roles is not an object');
  const permittedRoles: Record<string, Record<string, number>> = {};
  for (const [snapshot, grants] of Object.entries(permitted)) {
    if (!Array.isArray(grants)) throw malformed(`permitted_roles.${snapshot} is not an array`);
    const byRole: Record<string, number> = {};
    for (const grant of grants) {
      if (!isRecord(grant) || typeof grant.role !== 'string' || typeof grant.size !== 'number') {
        throw malformed(`permitted_roles.${snapshot} has an entry without role and size`);
      }
      byRole[grant.role] = grant.size;
    }
    permittedRoles[snapshot] = byRole;
  }
  return { allowed: allow && reasons.length === 0, reasons, permittedRoles };
}

/** Reads a {response: {allowed, status: {reason}}, claims} document (delete/map/unmap/sdc approve). */
export function readResponseDecision(document: Record<string, unknown>): ResponseDecision {
  const { response, claims } = document;
  if (!isRecord(response) || typeof response.allowed !== 'boolean') throw malformed('response.allowed is not a boolean');
  const status = response.status;
  const reason = isRecord(status) && typeof status.reason === 'string' ? status.reason : '';
  const group = isRecord(claims) && typeof claims.group === 'string' ? claims.group : '';
  return { allowed: response.allowed, reason, group };
}

/**
 * The quota a create is held to (Dell §3.1 step 5): unlimited when any permitted role has quota 0,
 * otherwise the largest quota among the permitted roles.
 */
export function effectiveQuota(permittedRoles: Readonly<Record<string, number>>): Quota {
  const quotas = Object.values(permittedRoles);
  if (quotas.length === 0) throw new Error('no permitted roles: the request is not allowed, there is no quota to apply');
  for (const kib of quotas) {
    if (!Number.isSafeInteger(kib) || kib < 0) throw new Error(`invalid quota ${kib} in permitted roles`);
  }
  if (quotas.includes(0)) return { kind: 'unlimited' };
  return { kind: 'limited', kib: Math.max(...quotas) };
}

function readReasons(deny: unknown): string[] {
  // opa-wasm returns a set as an array; `opa eval` would too. Anything else is malformed.
  if (!Array.isArray(deny) || !deny.every((reason) => typeof reason === 'string')) {
    throw malformed('deny is not a list of messages');
  }
  return deny as string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(what: string): Error {
  return new Error(`malformed policy decision: ${what}`);
}
