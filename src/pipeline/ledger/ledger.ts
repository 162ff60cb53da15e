// Ledger phase: the effects an operation's table entry (pipeline/operations.ts) has on the ledger:
// quota reservations (creates, snapshots), a deletion, a resize, ownership checks. Each returns the
// holds the access log must settle (dynamic metadata). A hold belongs to the request that made it;
// a request that only found another request's hold carries it as a hint (src/ledger/README.md).
import type { VolumeInfo } from '../../arrays/types.js';
import { LedgerInputError, LedgerUnavailableError, type Ledger, type OverQuota, type QuotaScope, type ReservationId } from '../../ledger/types.js';
import type { Quota, StorageSystem, Tenant } from '../../resources/types.js';
import { reject, type Rejection } from '../response/deny.js';
import { formatKiB } from './capacity.js';

/** What the access log brings back: ids travel comma-joined in dynamic metadata (ids are base64url). */
export interface LedgerHold {
  /** Holds this request made: it settles them. */
  holds: ReservationId[];
  /** Holds of another request in flight that this one found: its 2xx is evidence for them, nothing more. */
  hints: ReservationId[];
  /** A charge made over a `report` quota: the 507 `enforce` would have answered. */
  wouldDeny?: Rejection;
}

export const NOTHING_HELD: LedgerHold = { holds: [], hints: [] };

/** Where an operation's ledger effect runs. */
export interface LedgerContext {
  ledger: Ledger;
  tenant: Tenant;
  system: StorageSystem;
}

export const scopeOf = ({ system, tenant }: LedgerContext, pool: string): QuotaScope => ({
  systemType: system.type,
  systemID: system.systemID,
  pool,
  tenant: tenant.name,
});

const describe = (scope: QuotaScope): string => `${scope.systemType}/${scope.systemID}/${scope.pool}`;

/** Runs an effect; the store's own failures become 503 (unavailable) or 400 (bad input), never an allow. */
export async function applyLedger(effect: () => Promise<LedgerHold | Rejection>): Promise<LedgerHold | Rejection> {
  try {
    return await effect();
  } catch (error) {
    if (error instanceof LedgerUnavailableError) return reject(503, 'ledger-unavailable', 'quota store unavailable');
    if (error instanceof LedgerInputError) return reject(400, 'ledger-input', `request denied: ${error.message}`);
    throw error;
  }
}

/** Map, unmap, snapshot source, expand: the tenant's volume, reserved (the driver publishes right after create) or committed. */
export async function ownership(context: LedgerContext, volume: VolumeInfo, action: string): Promise<Rejection | undefined> {
  return (await context.ledger.owns(scopeOf(context, volume.poolName), volume.name)) ? undefined : notOwner(volume, context.tenant, action);
}

const notOwner = (volume: VolumeInfo, tenant: Pick<Tenant, 'name'>, action: string): Rejection =>
  reject(403, 'not-owner', `${action} denied: volume "${volume.name}" is not owned by tenant "${tenant.name}"`);

const quotaExceeded = (scope: QuotaScope, result: OverQuota): Rejection => ({
  ...reject(
    507,
    'quota-exceeded',
    `request denied: not enough quota: tenant "${scope.tenant}" on ${describe(scope)}: ` +
      `quota ${formatKiB(result.quotaKiB)}, used ${formatKiB(result.usedKiB)}, requested ${formatKiB(result.requestedKiB)}`,
  ),
  quota: { pool: scope.pool, quotaKiB: result.quotaKiB, usedKiB: result.usedKiB, requestedKiB: result.requestedKiB },
});

export interface Charge {
  scope: QuotaScope;
  volume: string;
  sizeKiB: number;
  quota: Quota;
}

/** Reserves every charge or none: on the first denial the reservations made here are released. */
export async function reserveAll(ledger: Ledger, charges: readonly Charge[]): Promise<LedgerHold | Rejection> {
  const held: LedgerHold = { holds: [], hints: [] };
  for (const charge of charges) {
    const result = await ledger.reserve(charge.scope, charge.volume, charge.sizeKiB, charge.quota);
    if (result.status === 'denied') {
      // 'already-approved' ids belong to an earlier attempt still in flight: not ours to release.
      for (const id of held.holds) await ledger.release(id);
      return quotaExceeded(charge.scope, result);
    }
    (result.status === 'approved' ? held.holds : held.hints).push(result.reservation);
    if (result.status === 'approved' && result.overQuota) held.wouldDeny ??= quotaExceeded(charge.scope, result.overQuota);
  }
  return held;
}

/** A delete of the tenant's volume (reserved or committed); a delete already in flight is a hint. */
export async function deletion(context: LedgerContext, volume: VolumeInfo): Promise<LedgerHold | Rejection> {
  const result = await context.ledger.beginDelete(scopeOf(context, volume.poolName), volume.name);
  switch (result.status) {
    case 'not-owner':
      return notOwner(volume, context.tenant, 'delete');
    case 'ok':
      return { holds: [result.deletion], hints: [] };
    case 'already-deleting':
      return { holds: [], hints: [result.deletion] };
  }
}

/**
 * An expansion charged by its increase. A decrease is refused (400) by the ledger unless the array
 * can make it without the volume's data outgrowing the new size (`shrinkableToKiB`): then the old
 * size stays charged until the array confirms the new one.
 */
export async function resize(context: LedgerContext, volume: VolumeInfo, newSizeKiB: number, quota: Quota): Promise<LedgerHold | Rejection> {
  if (volume.shrinkableToKiB !== undefined && newSizeKiB < volume.shrinkableToKiB) {
    return reject(400, 'shrink-below-data', `expand denied: volume "${volume.name}" holds ${formatKiB(volume.shrinkableToKiB)}; its size cannot go below that (asked ${formatKiB(newSizeKiB)})`);
  }
  const scope = scopeOf(context, volume.poolName);
  const result = await context.ledger.beginResize(scope, volume.name, newSizeKiB, quota, { allowShrink: volume.shrinkableToKiB !== undefined });
  switch (result.status) {
    case 'not-owner':
      return notOwner(volume, context.tenant, 'expand');
    case 'busy':
      return reject(409, 'volume-busy', `expand denied: volume "${volume.name}" is being created, deleted or expanded; retry later`);
    case 'denied':
      return quotaExceeded(scope, result);
    case 'unchanged':
      return NOTHING_HELD;
    case 'approved':
      return { holds: [result.resize], hints: [], ...(result.overQuota && { wouldDeny: quotaExceeded(scope, result.overQuota) }) };
    case 'already-resizing':
      return { holds: [], hints: [result.resize] };
  }
}
