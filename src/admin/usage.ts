// Quota usage per tenant, array and pool: the ledger's used/reserved capacity joined with the quota
// the tenant's roles grant in the live resources. Pure: the handler does the I/O.
import type { UsageRow, VolumeRow, VolumeState } from '../ledger/types.js';
import type { DriftTally } from '../reconcile/types.js';
import { effectiveQuota } from '../pipeline/policy/decisions.js';
import { enforcementOf } from '../pipeline/authorize/enforcement.js';
import type { ResourceSnapshot, Role, SystemType, TenantPoolUsage } from '../resources/types.js';

/** A tenant's pool as the CSMTenant status shows it, and what only the admin API adds. */
export interface UsageReportRow extends TenantPoolUsage {
  tenant: string;
  /** Roles of the tenant that grant this pool; empty when capacity is held in a pool no role grants any more. */
  roles: string[];
  /** quota − used − reserved, never below 0; null when unlimited. */
  freeKiB: number | null;
  /** What the last reconciliation of the system found for this tenant and pool (all zero: ledger == array). */
  drift: DriftCounts;
}

export interface DriftCounts {
  missingOnArray: number;
  unaccountedOnArray: number;
  sizeMismatch: number;
  /** Of those, not repaired (report mode, or the repair was refused). */
  unrepaired: number;
}

const NO_DRIFT: DriftCounts = { missingOnArray: 0, unaccountedOnArray: 0, sizeMismatch: 0, unrepaired: 0 };
const DRIFT_COUNTER = { 'missing-on-array': 'missingOnArray', 'unaccounted-on-array': 'unaccountedOnArray', 'size-mismatch': 'sizeMismatch' } as const;

interface Scope {
  tenant: string;
  systemType: SystemType;
  systemID: string;
  pool: string;
}

const scopeKey = (s: Scope): string => JSON.stringify([s.tenant, s.systemType, s.systemID, s.pool]);

/**
 * One row per (tenant, system, pool) that a tenant's role grants or where the ledger holds capacity.
 * Effective quota follows Dell (reference §11.8): unlimited if any granting role is unlimited,
 * otherwise the largest granted quota.
 */
export function usageReport(snapshot: ResourceSnapshot, ledgerRows: readonly UsageRow[], tenant?: string, drift: readonly DriftTally[] = []): UsageReportRow[] {
  const rows = new Map<string, UsageReportRow & { granting: Role[] }>();
  const rowFor = (scope: Scope) => {
    const key = scopeKey(scope);
    let row = rows.get(key);
    if (!row) {
      row = {
        tenant: scope.tenant, systemType: scope.systemType, systemID: scope.systemID, pool: scope.pool,
        granting: [], roles: [], quotaKiB: 0, usedKiB: 0, reservedKiB: 0, freeKiB: 0, volumes: 0, drift: { ...NO_DRIFT }, enforcement: 'enforce', overQuotaKiB: 0,
      };
      rows.set(key, row);
    }
    return row;
  };

  for (const t of snapshot.tenants.values()) {
    if (tenant !== undefined && t.name !== tenant) continue;
    for (const roleName of t.roles) {
      const role = snapshot.roles.get(roleName);
      if (!role) continue;
      rowFor({ tenant: t.name, systemType: role.systemType, systemID: role.systemID, pool: role.pool }).granting.push(role);
    }
  }
  for (const used of ledgerRows) {
    if (tenant !== undefined && used.tenant !== tenant) continue;
    const row = rowFor({ tenant: used.tenant, systemType: used.systemType, systemID: used.systemID, pool: used.pool });
    row.usedKiB += used.usedKiB;
    row.reservedKiB += used.reservedKiB;
    row.volumes += used.volumes;
  }
  for (const tally of drift) {
    if (tally.tenant === undefined || (tenant !== undefined && tally.tenant !== tenant)) continue;
    const row = rowFor({ tenant: tally.tenant, systemType: tally.systemType, systemID: tally.systemID, pool: tally.pool });
    row.drift[DRIFT_COUNTER[tally.kind]] += tally.count;
    row.drift.unrepaired += tally.unrepaired;
  }

  return [...rows.values()]
    .map(({ granting, ...row }) => {
      const quotaKiB = quotaOf(granting);
      const freeKiB = quotaKiB === null ? null : Math.max(0, quotaKiB - row.usedKiB - row.reservedKiB);
      const overQuotaKiB = quotaKiB === null ? 0 : Math.max(0, row.usedKiB + row.reservedKiB - quotaKiB);
      const owner = snapshot.tenants.get(row.tenant);
      const enforcement = owner ? enforcementOf(owner, granting, { type: row.systemType, systemID: row.systemID }, row.pool) : 'enforce';
      return { ...row, roles: granting.map((role) => role.name).sort(), quotaKiB, freeKiB, enforcement, overQuotaKiB };
    })
    .sort(compareScopes);
}

/** KiB, null when unlimited, 0 when no role grants the pool. */
function quotaOf(granting: readonly Role[]): number | null {
  if (granting.length === 0) return 0;
  // The policy phase's rule, fed the way Dell's policies see roles: KiB, with 0 meaning unlimited.
  const quota = effectiveQuota(Object.fromEntries(granting.map((role) => [role.name, role.quota.kind === 'unlimited' ? 0 : role.quota.kib])));
  return quota.kind === 'unlimited' ? null : quota.kib;
}

function compareScopes(a: Scope, b: Scope): number {
  return (
    a.tenant.localeCompare(b.tenant) ||
    a.systemType.localeCompare(b.systemType) ||
    a.systemID.localeCompare(b.systemID) ||
    a.pool.localeCompare(b.pool)
  );
}

/** One volume the ledger charges to a tenant, by name (no quota: see usageReport). */
export interface VolumesReportRow extends Scope {
  name: string;
  sizeKiB: number;
  state: VolumeState;
}

/** Every volume of the ledger rows, sorted by tenant, system, pool and name. */
export function volumesReport(ledgerRows: readonly VolumeRow[]): VolumesReportRow[] {
  return ledgerRows
    .map(({ tenant, systemType, systemID, pool, volume, sizeKiB, state }) => ({ tenant, systemType, systemID, pool, name: volume, sizeKiB, state }))
    .sort((a, b) => compareScopes(a, b) || a.name.localeCompare(b.name));
}

/** One element of Dell's `GET /proxy/volumes/` answer (reference §1.3), with our fields beside. */
export interface DellVolume {
  name: string;
  /** GiB, as Dell's storage-service reports it (sizeInKb / 1048576). */
  size: number;
  systemId: string;
  /** The array's volume id: not in the ledger, which keys volumes by name; "" here. */
  id: string;
  pool: string;
  tenant: string;
  systemType: SystemType;
  sizeKiB: number;
  state: VolumeState;
}

export function dellVolumes(rows: readonly VolumesReportRow[]): DellVolume[] {
  return rows.map(({ tenant, name, sizeKiB, systemID, pool, systemType, state }) => ({ name, size: sizeKiB / 1048576, systemId: systemID, id: '', pool, tenant, systemType, sizeKiB, state }));
}
