// The embedded ledger for a single process (demo, development, unit tests): the same state machine
// as the Redis backend (see README "Ledger"), kept in maps. Every method runs synchronously to the
// end before it resolves, so concurrent callers in one process cannot interleave inside a change.
import type { Quota } from '../../resources/types.js';
import { decodeReservationId, encodeReservationId, type ReservationRef } from '../reservationId.js';
import type {
  BeginDeleteResult,
  Ledger,
  PendingReservation,
  QuotaScope,
  ReservationId,
  ReserveResult,
  UsageRow,
  VolumeRow,
} from '../types.js';
import { assertAgeMs, assertQuota, assertScope, assertSizeKiB, assertVolumeName } from '../validate.js';

interface VolumeRecord {
  sizeKiB: number;
  generation: number;
  /** `reserved` until the array confirms the create, then `committed`. Deleted volumes are dropped. */
  state: 'reserved' | 'committed';
  /** A delete is in flight (begun, neither committed nor aborted), as Redis' `vol:<name>:deleting`. */
  deleting: boolean;
  since: number;
}

interface ScopeRecord {
  scope: QuotaScope;
  /** Reserved plus committed: what counts against the quota (Dell's `approved_capacity`). */
  approvedKiB: number;
  reservedKiB: number;
  committedVolumes: number;
  lastGeneration: number;
  volumes: Map<string, VolumeRecord>;
}

export interface MemoryLedgerOptions {
  /** Clock for reservation timestamps (tests pass a fake one to exercise `pending`). */
  now?: () => number;
}

const scopeKey = (scope: QuotaScope): string => `${scope.systemType}:${scope.systemID}:${scope.pool}:${scope.tenant}`;

export class MemoryLedger implements Ledger {
  private readonly scopes = new Map<string, ScopeRecord>();
  private readonly now: () => number;

  constructor(options: MemoryLedgerOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async reserve(scope: QuotaScope, volume: string, sizeKiB: number, quota: Quota): Promise<ReserveResult> {
    assertScope(scope);
    assertVolumeName(volume);
    assertSizeKiB(sizeKiB);
    assertQuota(quota);
    const existing = this.scopes.get(scopeKey(scope))?.volumes.get(volume);
    if (existing) {
      return { status: 'already-approved', reservation: this.idOf('reservation', scope, volume, existing) };
    }
    const usedKiB = this.scopes.get(scopeKey(scope))?.approvedKiB ?? 0;
    // Compared as "requested > quota - used" so no sum ever exceeds the quota's own magnitude.
    if (quota.kind === 'limited' && sizeKiB > quota.kib - usedKiB) {
      return { status: 'denied', usedKiB, quotaKiB: quota.kib, requestedKiB: sizeKiB };
    }
    // A scope appears in usage() from its first approved reservation on, as in the Redis ledger.
    const record = this.scopeRecord(scope);
    const added: VolumeRecord = {
      sizeKiB,
      generation: ++record.lastGeneration,
      state: 'reserved',
      deleting: false,
      since: this.now(),
    };
    record.volumes.set(volume, added);
    record.approvedKiB += sizeKiB;
    record.reservedKiB += sizeKiB;
    return { status: 'approved', reservation: this.idOf('reservation', record.scope, volume, added) };
  }

  async commit(reservation: ReservationId): Promise<void> {
    const found = this.find(decodeReservationId(reservation, 'reservation'));
    if (!found || found.volume.state !== 'reserved') return;
    found.volume.state = 'committed';
    found.scope.reservedKiB -= found.volume.sizeKiB;
    found.scope.committedVolumes += 1;
  }

  async release(reservation: ReservationId): Promise<void> {
    const ref = decodeReservationId(reservation, 'reservation');
    const found = this.find(ref);
    // A committed volume is never released: a retried create answered "already exists" must not free it.
    if (!found || found.volume.state !== 'reserved') return;
    found.scope.volumes.delete(ref.volume);
    found.scope.approvedKiB -= found.volume.sizeKiB;
    found.scope.reservedKiB -= found.volume.sizeKiB;
  }

  async beginDelete(scope: QuotaScope, volume: string): Promise<BeginDeleteResult> {
    assertScope(scope);
    assertVolumeName(volume);
    const record = this.scopes.get(scopeKey(scope));
    const existing = record?.volumes.get(volume);
    if (!record || !existing) return { status: 'not-owner' };
    existing.deleting = true;
    return { status: 'ok', deletion: this.idOf('deletion', record.scope, volume, existing) };
  }

  async commitDelete(deletion: ReservationId): Promise<void> {
    const ref = decodeReservationId(deletion, 'deletion');
    const found = this.find(ref);
    if (!found) return; // already freed by an earlier commitDelete, or never there
    const { scope, volume } = found;
    scope.volumes.delete(ref.volume);
    scope.approvedKiB -= volume.sizeKiB;
    if (volume.state === 'reserved') scope.reservedKiB -= volume.sizeKiB;
    else scope.committedVolumes -= 1;
  }

  /** Clears the in-flight mark; a begun delete holds no capacity of its own (the volume stays charged until commitDelete). */
  async abortDelete(deletion: ReservationId): Promise<void> {
    const found = this.find(decodeReservationId(deletion, 'deletion'));
    if (found) found.volume.deleting = false;
  }

  async owns(scope: QuotaScope, volume: string): Promise<boolean> {
    assertScope(scope);
    assertVolumeName(volume);
    return this.scopes.get(scopeKey(scope))?.volumes.get(volume)?.state === 'committed';
  }

  async usage(tenant?: string): Promise<UsageRow[]> {
    const rows: UsageRow[] = [];
    for (const record of this.scopes.values()) {
      if (tenant !== undefined && record.scope.tenant !== tenant) continue;
      rows.push({
        ...record.scope,
        usedKiB: record.approvedKiB - record.reservedKiB,
        reservedKiB: record.reservedKiB,
        volumes: record.committedVolumes,
      });
    }
    return rows;
  }

  async volumes(tenant?: string): Promise<VolumeRow[]> {
    const rows: VolumeRow[] = [];
    for (const record of this.scopes.values()) {
      if (tenant !== undefined && record.scope.tenant !== tenant) continue;
      for (const [name, volume] of record.volumes) {
        rows.push({ ...record.scope, volume: name, sizeKiB: volume.sizeKiB, state: volume.deleting ? 'deleting' : volume.state });
      }
    }
    return rows;
  }

  async pending(olderThanMs: number): Promise<PendingReservation[]> {
    assertAgeMs(olderThanMs);
    const cutoff = this.now() - olderThanMs;
    const found: PendingReservation[] = [];
    for (const record of this.scopes.values()) {
      for (const [name, volume] of record.volumes) {
        if (volume.state !== 'reserved' || volume.since > cutoff) continue;
        found.push({
          reservation: this.idOf('reservation', record.scope, name, volume),
          scope: { ...record.scope },
          volume: name,
          sizeKiB: volume.sizeKiB,
          since: volume.since,
        });
      }
    }
    return found.sort((a, b) => a.since - b.since);
  }

  async close(): Promise<void> {}

  private scopeRecord(scope: QuotaScope): ScopeRecord {
    const key = scopeKey(scope);
    let record = this.scopes.get(key);
    if (!record) {
      const { systemType, systemID, pool, tenant } = scope;
      record = {
        scope: { systemType, systemID, pool, tenant },
        approvedKiB: 0,
        reservedKiB: 0,
        committedVolumes: 0,
        lastGeneration: 0,
        volumes: new Map(),
      };
      this.scopes.set(key, record);
    }
    return record;
  }

  /** The scope and volume an id names, only if it is still the same generation of that volume. */
  private find(ref: ReservationRef): { scope: ScopeRecord; volume: VolumeRecord } | undefined {
    const scope = this.scopes.get(scopeKey(ref.scope));
    const volume = scope?.volumes.get(ref.volume);
    return scope && volume && volume.generation === ref.generation ? { scope, volume } : undefined;
  }

  private idOf(kind: ReservationRef['kind'], scope: QuotaScope, volume: string, record: VolumeRecord): ReservationId {
    return encodeReservationId({ kind, scope, volume, generation: record.generation });
  }
}
