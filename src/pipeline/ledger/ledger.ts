// Ledger phase: quota reservation for creates and snapshots, ownership for delete/map/unmap and
// snapshot sources, the tenant's SDC approval flag. Returns the ids Envoy's access log brings back
// (dynamic metadata) so each reservation or deletion is confirmed or undone exactly once.
import type { Operation, VolumeInfo } from '../../arrays/types.js';
import { LedgerInputError, LedgerUnavailableError, type Ledger, type QuotaScope, type ReservationId } from '../../ledger/types.js';
import type { Quota, StorageSystem, Tenant } from '../../resources/types.js';
import type { Enriched } from '../enrich/enrich.js';
import { reject, type Rejection } from '../response/deny.js';
import { formatKiB } from './capacity.js';

/** What the access log must confirm: ids travel comma-joined in dynamic metadata (ids are base64url). */
export interface LedgerHold {
  reservations: ReservationId[];
  deletion?: ReservationId;
}

export interface LedgerRequest {
  ledger: Ledger;
  tenant: Tenant;
  system: StorageSystem;
  operation: Operation;
  enriched: Enriched;
  /** From the policy phase, one per volume to create. */
  quotas: readonly Quota[];
}

const NOTHING_HELD: LedgerHold = { reservations: [] };

const scopeOf = (system: StorageSystem, pool: string, tenant: Tenant): QuotaScope => ({
  systemType: system.type,
  systemID: system.systemID,
  pool,
  tenant: tenant.name,
});

const describe = (scope: QuotaScope): string => `${scope.systemType}/${scope.systemID}/${scope.pool}`;

export async function applyLedger(request: LedgerRequest): Promise<LedgerHold | Rejection> {
  try {
    return await hold(request);
  } catch (error) {
    if (error instanceof LedgerUnavailableError) return reject(503, 'ledger-unavailable', 'quota store unavailable');
    if (error instanceof LedgerInputError) return reject(400, 'ledger-input', `request denied: ${error.message}`);
    throw error;
  }
}

async function hold({ ledger, tenant, system, operation, enriched, quotas }: LedgerRequest): Promise<LedgerHold | Rejection> {
  switch (operation.kind) {
    case 'volume-create': {
      if (enriched.kind !== 'pool' || !quotas[0]) throw new Error('volume create reached the ledger without pool or quota');
      return reserveAll(ledger, [{ scope: scopeOf(system, enriched.poolName, tenant), volume: operation.name, sizeKiB: operation.sizeKiB, quota: quotas[0] }]);
    }
    case 'snapshot-create': {
      if (enriched.kind !== 'volumes') throw new Error('snapshot reached the ledger without its source volumes');
      for (const source of enriched.volumes) {
        const owned = await ownership(ledger, scopeOf(system, source.poolName, tenant), source, 'snapshot');
        if (owned) return owned;
      }
      return reserveAll(
        ledger,
        operation.snapshots.map((snapshot, index) => {
          const source = enriched.volumes[index]!;
          const quota = quotas[index];
          if (!quota) throw new Error('snapshot reached the ledger without a quota per snapshot');
          return { scope: scopeOf(system, source.poolName, tenant), volume: snapshot.snapshotName, sizeKiB: source.sizeKiB, quota };
        }),
      );
    }
    case 'volume-delete': {
      if (enriched.kind !== 'volume') throw new Error('delete reached the ledger without its volume');
      const result = await ledger.beginDelete(scopeOf(system, enriched.volume.poolName, tenant), enriched.volume.name);
      if (result.status === 'not-owner') return notOwner(enriched.volume, tenant, 'delete');
      return { reservations: [], deletion: result.deletion };
    }
    case 'volume-map':
    case 'volume-unmap': {
      if (enriched.kind !== 'volume') throw new Error(`${operation.kind} reached the ledger without its volume`);
      const action = operation.kind === 'volume-map' ? 'map' : 'unmap';
      return (await ownership(ledger, scopeOf(system, enriched.volume.poolName, tenant), enriched.volume, action)) ?? NOTHING_HELD;
    }
    case 'sdc-approve':
      return tenant.approveSdc ? NOTHING_HELD : reject(403, 'sdc-approve-denied', `sdc approve request denied: tenant "${tenant.name}" may not approve SDCs`);
    default:
      return NOTHING_HELD;
  }
}

async function ownership(ledger: Ledger, scope: QuotaScope, volume: VolumeInfo, action: string): Promise<Rejection | undefined> {
  return (await ledger.owns(scope, volume.name)) ? undefined : notOwner(volume, { name: scope.tenant }, action);
}

const notOwner = (volume: VolumeInfo, tenant: Pick<Tenant, 'name'>, action: string): Rejection =>
  reject(403, 'not-owner', `${action} denied: volume "${volume.name}" is not owned by tenant "${tenant.name}"`);

interface Charge {
  scope: QuotaScope;
  volume: string;
  sizeKiB: number;
  quota: Quota;
}

/** Reserves every charge or none: on the first denial the reservations made here are released. */
async function reserveAll(ledger: Ledger, charges: readonly Charge[]): Promise<LedgerHold | Rejection> {
  const reservations: ReservationId[] = [];
  const madeHere: ReservationId[] = [];
  for (const charge of charges) {
    const result = await ledger.reserve(charge.scope, charge.volume, charge.sizeKiB, charge.quota);
    if (result.status === 'denied') {
      // 'already-approved' ids belong to an earlier attempt still in flight: not ours to release.
      for (const id of madeHere) await ledger.release(id);
      return reject(
        507,
        'quota-exceeded',
        `request denied: not enough quota: tenant "${charge.scope.tenant}" on ${describe(charge.scope)}: ` +
          `quota ${formatKiB(result.quotaKiB)}, used ${formatKiB(result.usedKiB)}, requested ${formatKiB(result.requestedKiB)}`,
      );
    }
    reservations.push(result.reservation);
    if (result.status === 'approved') madeHere.push(result.reservation);
  }
  return { reservations };
}
