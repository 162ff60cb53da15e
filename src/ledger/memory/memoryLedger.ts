// The embedded ledger for a single process (demo, development, unit tests): the same state machine
// as the Redis backend (see README "Ledger"), kept in maps. Every method runs synchronously to the
// end before it resolves, so concurrent callers in one process cannot interleave inside a change.
import type { Quota, SystemType } from '../../resources/types.js';
import { decodeReservationId, encodeReservationId, type ReservationRef } from '../reservationId.js';
import type {
  BeginDeleteResult,
  Hold,
  HoldKind,
  HoldSummary,
  Ledger,
  PendingHold,
  PresentRepair,
  QuotaScope,
  UndoOptions,
  ReservationId,
  ReserveResult,
  ResizeOptions,
  ResizeResult,
  UsageRow,
  VolumeRow,
} from '../types.js';
import type { DriftReport, ReconcileStore } from '../../reconcile/types.js';
import { overQuota, refusesOver } from '../quotaCheck.js';
import { assertAgeMs, assertQuota, assertScope, assertSizeKiB, assertVolumeName, shrinkRefused } from '../validate.js';

/** A hold in flight: when it was made or last found by another request (a retry relying on it). */
interface HoldTimes {
  since: number;
  /** Another request found it (`already-…`), so only the resolver may undo it (UndoOptions). */
  claimed?: boolean;
}

/** The volume's own `since`/`claimed` are its reservation's, while it is reserved. */
interface VolumeRecord extends HoldTimes {
  sizeKiB: number;
  generation: number;
  /** `reserved` until the array confirms the create, then `committed`. Deleted volumes are dropped. */
  state: 'reserved' | 'committed';
  /** A delete in flight, neither committed nor aborted (Redis' `vol:<name>:deleting`). */
  deleting?: HoldTimes;
  /** An expansion in flight: the size asked for, its own generation. */
  resize?: HoldTimes & { toKiB: number; generation: number };
}

/** UndoOptions: a claimed hold only by the resolver, and only if nobody found it after it listed it. */
const undoable = (hold: HoldTimes, options: UndoOptions): boolean => (options.since === undefined ? !hold.claimed : hold.since <= options.since);

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

export class MemoryLedger implements Ledger, ReconcileStore {
  private readonly scopes = new Map<string, ScopeRecord>();
  /** Reconciliation in this process: one lease and one last report per system. */
  private readonly leases = new Map<string, number>();
  private readonly reports = new Map<string, DriftReport>();
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
      if (existing.state === 'reserved') this.claim(existing);
      return { status: 'already-approved', reservation: this.idOf('reservation', scope, volume, existing.generation) };
    }
    const usedKiB = this.scopes.get(scopeKey(scope))?.approvedKiB ?? 0;
    const over = overQuota(quota, sizeKiB, usedKiB);
    if (over && refusesOver(quota)) return { status: 'denied', ...over };
    // A scope appears in usage() from its first approved reservation on, as in the Redis ledger.
    const record = this.scopeRecord(scope);
    const added = this.addVolume(record, volume, sizeKiB, 'reserved');
    return { status: 'approved', reservation: this.idOf('reservation', record.scope, volume, added.generation), ...(over && { overQuota: over }) };
  }

  async commit(reservation: ReservationId): Promise<boolean> {
    const found = this.find(decodeReservationId(reservation, 'reservation'));
    if (!found || found.volume.state !== 'reserved') return false;
    this.commitVolume(found.scope, found.volume);
    return true;
  }

  async release(reservation: ReservationId, options: UndoOptions = {}): Promise<boolean> {
    const ref = decodeReservationId(reservation, 'reservation');
    const found = this.find(ref);
    // A committed volume is never released: a retried create answered "already exists" must not free it.
    if (!found || found.volume.state !== 'reserved') return false;
    if (!undoable(found.volume, options)) return false;
    this.forget(found.scope, ref.volume, found.volume);
    return true;
  }

  async beginDelete(scope: QuotaScope, volume: string): Promise<BeginDeleteResult> {
    assertScope(scope);
    assertVolumeName(volume);
    const record = this.scopes.get(scopeKey(scope));
    const existing = record?.volumes.get(volume);
    if (!record || !existing) return { status: 'not-owner' };
    const deletion = this.idOf('deletion', record.scope, volume, existing.generation);
    if (existing.deleting) {
      this.claim(existing.deleting);
      return { status: 'already-deleting', deletion };
    }
    existing.deleting = { since: this.now() };
    return { status: 'ok', deletion };
  }

  async commitDelete(deletion: ReservationId): Promise<boolean> {
    const ref = decodeReservationId(deletion, 'deletion');
    const found = this.find(ref);
    if (!found) return false; // already freed by an earlier commitDelete, or never there
    this.forget(found.scope, ref.volume, found.volume);
    return true;
  }

  /** Clears the in-flight mark; a begun delete holds no capacity of its own (the volume stays charged until commitDelete). */
  async abortDelete(deletion: ReservationId, options: UndoOptions = {}): Promise<boolean> {
    const found = this.find(decodeReservationId(deletion, 'deletion'));
    if (!found?.volume.deleting || !undoable(found.volume.deleting, options)) return false;
    delete found.volume.deleting;
    return true;
  }

  async beginResize(scope: QuotaScope, volume: string, newSizeKiB: number, quota: Quota, options: ResizeOptions = {}): Promise<ResizeResult> {
    assertScope(scope);
    assertVolumeName(volume);
    assertSizeKiB(newSizeKiB);
    assertQuota(quota);
    const record = this.scopes.get(scopeKey(scope));
    const existing = record?.volumes.get(volume);
    if (!record || !existing) return { status: 'not-owner' };
    if (existing.resize) {
      if (existing.resize.toKiB !== newSizeKiB) return { status: 'busy' };
      this.claim(existing.resize);
      return { status: 'already-resizing', resize: this.idOf('resize', record.scope, volume, existing.resize.generation) };
    }
    if (existing.state !== 'committed' || existing.deleting) return { status: 'busy' };
    if (newSizeKiB < existing.sizeKiB && !options.allowShrink) throw shrinkRefused(volume, existing.sizeKiB, newSizeKiB);
    if (newSizeKiB === existing.sizeKiB) return { status: 'unchanged' };
    // A shrink holds nothing more: the old size stays charged until the array confirms the new one.
    const increaseKiB = Math.max(0, newSizeKiB - existing.sizeKiB);
    const over = overQuota(quota, increaseKiB, record.approvedKiB);
    if (over && refusesOver(quota)) return { status: 'denied', ...over };
    existing.resize = { toKiB: newSizeKiB, generation: ++record.lastGeneration, since: this.now() };
    record.approvedKiB += increaseKiB;
    record.reservedKiB += increaseKiB;
    return { status: 'approved', resize: this.idOf('resize', record.scope, volume, existing.resize.generation), increaseKiB, ...(over && { overQuota: over }) };
  }

  async commitResize(resize: ReservationId): Promise<boolean> {
    const found = this.findResize(decodeReservationId(resize, 'resize'));
    if (!found) return false;
    const { scope, volume } = found;
    const change = volume.resize!.toKiB - volume.sizeKiB;
    // Growth was reserved (now committed); a shrink frees the difference only now.
    if (change > 0) scope.reservedKiB -= change;
    else scope.approvedKiB += change;
    volume.sizeKiB = volume.resize!.toKiB;
    delete volume.resize;
    return true;
  }

  async abortResize(resize: ReservationId, options: UndoOptions = {}): Promise<boolean> {
    const found = this.findResize(decodeReservationId(resize, 'resize'));
    if (!found || !undoable(found.volume.resize!, options)) return false;
    this.dropResize(found.scope, found.volume);
    return true;
  }

  async recordPresent(scope: QuotaScope, volume: string, sizeKiB: number, _reason: string): Promise<PresentRepair> {
    assertScope(scope);
    assertVolumeName(volume);
    assertSizeKiB(sizeKiB);
    const record = this.scopeRecord(scope);
    const existing = record.volumes.get(volume);
    if (!existing) {
      this.commitVolume(record, this.addVolume(record, volume, sizeKiB, 'reserved'));
      return 'charged';
    }
    if (existing.deleting || existing.resize) return 'unchanged';
    const correction = sizeKiB - existing.sizeKiB;
    if (existing.state === 'reserved') {
      this.commitVolume(record, existing);
      this.correct(record, existing, correction);
      return 'committed';
    }
    if (correction === 0) return 'unchanged';
    this.correct(record, existing, correction);
    return 'corrected';
  }

  async recordAbsent(scope: QuotaScope, volume: string, _reason: string): Promise<boolean> {
    assertScope(scope);
    assertVolumeName(volume);
    const record = this.scopes.get(scopeKey(scope));
    const existing = record?.volumes.get(volume);
    if (!record || !existing) return false;
    this.forget(record, volume, existing);
    return true;
  }

  async holders(systemType: SystemType, systemID: string, volume: string): Promise<QuotaScope[]> {
    assertVolumeName(volume);
    return [...this.scopes.values()]
      .filter((record) => record.scope.systemType === systemType && record.scope.systemID === systemID && record.volumes.has(volume))
      .map((record) => ({ ...record.scope }));
  }

  async owns(scope: QuotaScope, volume: string): Promise<boolean> {
    assertScope(scope);
    assertVolumeName(volume);
    return this.scopes.get(scopeKey(scope))?.volumes.has(volume) ?? false;
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

  async pending(olderThanMs: number): Promise<PendingHold[]> {
    assertAgeMs(olderThanMs);
    const cutoff = this.now() - olderThanMs;
    const found: PendingHold[] = [];
    const add = (kind: HoldKind, record: ScopeRecord, volume: string, generation: number, sizeKiB: number, since: number) => {
      if (since <= cutoff) found.push({ kind, id: this.idOf(kind, record.scope, volume, generation), scope: { ...record.scope }, volume, sizeKiB, since });
    };
    for (const record of this.scopes.values()) {
      for (const [name, volume] of record.volumes) {
        if (volume.state === 'reserved') add('reservation', record, name, volume.generation, volume.sizeKiB, volume.since);
        if (volume.deleting) add('deletion', record, name, volume.generation, volume.sizeKiB, volume.deleting.since);
        if (volume.resize) add('resize', record, name, volume.resize.generation, volume.resize.toKiB, volume.resize.since);
      }
    }
    return found.sort((a, b) => a.since - b.since);
  }

  async *holds(olderThanMs: number): AsyncGenerator<Hold> {
    for (const { sizeKiB: _, ...hold } of await this.pending(olderThanMs)) yield hold;
  }

  async holdSummary(): Promise<HoldSummary> {
    // In memory there are no sizes to fetch: pending() is the same walk.
    const holds = await this.pending(0);
    const counts = { reservation: 0, deletion: 0, resize: 0 };
    for (const hold of holds) counts[hold.kind] += 1;
    return { counts, oldestSince: holds[0]?.since };
  }

  async claimReconcile(systemType: SystemType, systemID: string, _holder: string, ttlMs: number): Promise<boolean> {
    const key = `${systemType}:${systemID}`;
    if ((this.leases.get(key) ?? 0) > this.now()) return false;
    this.leases.set(key, this.now() + ttlMs);
    return true;
  }

  async saveDrift(report: DriftReport): Promise<void> {
    this.reports.set(`${report.systemType}:${report.systemID}`, structuredClone(report));
  }

  async driftReports(): Promise<DriftReport[]> {
    return [...this.reports.values()].map((report) => structuredClone(report));
  }

  async close(): Promise<void> {}

  private addVolume(record: ScopeRecord, volume: string, sizeKiB: number, state: VolumeRecord['state']): VolumeRecord {
    const added: VolumeRecord = { sizeKiB, generation: ++record.lastGeneration, state, since: this.now() };
    record.volumes.set(volume, added);
    record.approvedKiB += sizeKiB;
    record.reservedKiB += sizeKiB;
    return added;
  }

  private commitVolume(record: ScopeRecord, volume: VolumeRecord): void {
    volume.state = 'committed';
    record.reservedKiB -= volume.sizeKiB;
    record.committedVolumes += 1;
  }

  /** Charge a committed volume `correction` KiB more (or less): the array's size wins. */
  private correct(record: ScopeRecord, volume: VolumeRecord, correction: number): void {
    volume.sizeKiB += correction;
    record.approvedKiB += correction;
  }

  /** A request relying on the hold may still do it on the array: the hold lasts until it cannot. */
  private claim(hold: HoldTimes): void {
    hold.since = this.now();
    hold.claimed = true;
  }

  private dropResize(record: ScopeRecord, volume: VolumeRecord): void {
    if (!volume.resize) return;
    const increase = Math.max(0, volume.resize.toKiB - volume.sizeKiB);
    record.approvedKiB -= increase;
    record.reservedKiB -= increase;
    delete volume.resize;
  }

  /** Frees everything the volume holds: its charge, its reservation, an expansion in flight. */
  private forget(record: ScopeRecord, name: string, volume: VolumeRecord): void {
    this.dropResize(record, volume);
    record.volumes.delete(name);
    record.approvedKiB -= volume.sizeKiB;
    if (volume.state === 'reserved') record.reservedKiB -= volume.sizeKiB;
    else record.committedVolumes -= 1;
  }

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

  /** The volume whose expansion in flight is the one the id names. */
  private findResize(ref: ReservationRef): { scope: ScopeRecord; volume: VolumeRecord } | undefined {
    const scope = this.scopes.get(scopeKey(ref.scope));
    const volume = scope?.volumes.get(ref.volume);
    return scope && volume?.resize?.generation === ref.generation ? { scope, volume } : undefined;
  }

  private idOf(kind: HoldKind, scope: QuotaScope, volume: string, generation: number): ReservationId {
    return encodeReservationId({ kind, scope, volume, generation });
  }
}
