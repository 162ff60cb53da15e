// The quota and ownership ledger (DESIGN.md §3, issue 3). Two backends implement it: Redis
// (single node or Sentinel; Dell v1 key layout) and memory (embedded default). Sizes are integer KiB.
import type { Quota, SystemType } from '../resources/types.js';

/** Quota is kept per (array type, system, pool, tenant). */
export interface QuotaScope {
  systemType: SystemType;
  systemID: string;
  pool: string;
  tenant: string;
}

/** Opaque, self-describing id of one hold (a reservation, a delete or a resize); travels in Envoy dynamic metadata. */
export type ReservationId = string;

/**
 * What a hold is for: `reservation` (a create's capacity), `deletion` (a delete in flight) or
 * `resize` (an expansion's added capacity). Settlement rules per kind: src/ledger/README.md.
 */
export type HoldKind = 'reservation' | 'deletion' | 'resize';

/**
 * A charge made over its quota because the quota says `enforcement: 'report'`: the figures the
 * denial would have had (used = committed + reserved before this charge).
 */
export interface OverQuota {
  usedKiB: number;
  quotaKiB: number;
  requestedKiB: number;
}

/** `approved` with `overQuota`: a `report` quota let a charge through that `enforce` would deny. */
export type ReserveResult =
  | { status: 'approved'; reservation: ReservationId; overQuota?: OverQuota }
  | { status: 'already-approved'; reservation: ReservationId }
  | { status: 'denied'; usedKiB: number; quotaKiB: number; requestedKiB: number };

/**
 * `ok`: this request holds the deletion and settles it. `already-deleting`: another request's delete
 * is in flight; this one gets that id as a hint only (its 2xx may free the volume, nothing else) and
 * claims it (UndoOptions).
 */
export type BeginDeleteResult =
  | { status: 'ok'; deletion: ReservationId }
  | { status: 'already-deleting'; deletion: ReservationId }
  | { status: 'not-owner' };

/**
 * An expansion: `approved` holds `increaseKiB` more (reserved until the array confirms);
 * `already-resizing` is another request's hold to the same size (a hint that claims it, as for creates);
 * `unchanged` the size is already charged (nothing held); `busy` the volume is being created,
 * deleted or resized to another size (retry later); `not-owner` as for deletes. A shrink throws
 * LedgerInputError (the ledger never lowers a charge on a tenant's word) unless `allowShrink`: then
 * it is `approved` with `increaseKiB` 0 and the volume stays charged its old size until the array
 * confirms the new one (`commitResize` frees the difference; `abortResize` changes nothing).
 */
export type ResizeResult =
  | { status: 'approved'; resize: ReservationId; increaseKiB: number; overQuota?: OverQuota }
  | { status: 'already-resizing'; resize: ReservationId }
  | { status: 'unchanged' }
  | { status: 'busy' }
  | { status: 'not-owner' }
  | { status: 'denied'; usedKiB: number; quotaKiB: number; requestedKiB: number };

/**
 * How a hold is undone (`release`, `abortDelete`, `abortResize`): the array was asked and has not
 * done what the hold is for. A hold another request found (`already-approved`, `already-deleting`,
 * `already-resizing`: the driver's retry, forwarded to the array relying on it) is **claimed**: that
 * request may still do it on the array, so a refusal (no `since`) keeps a claimed hold, and only the
 * resolver undoes it once nobody has relied on it for longer than the route timeout.
 */
export interface UndoOptions {
  /**
   * The hold's `since` as `pending()` listed it (the resolver): undo it even though it is claimed,
   * unless a request found it after that moment.
   */
  since?: number;
}

export interface ResizeOptions {
  /** A decrease the array can make without the volume's data outgrowing the new charge (a PowerScale quota above its usage). */
  allowShrink?: boolean;
}

/** What `recordPresent` did to make the ledger match a volume the array has. */
export type PresentRepair = 'charged' | 'committed' | 'corrected' | 'unchanged';

export interface UsageRow extends QuotaScope {
  /** Committed (array said 2xx) capacity. */
  usedKiB: number;
  /** Reserved, not yet confirmed by the array. */
  reservedKiB: number;
  volumes: number;
}

/**
 * What a volume is in the ledger: `reserved` (approved, the array has not confirmed the create),
 * `committed` (the array said 2xx) or `deleting` (a delete of a reserved or committed volume is in
 * flight: begun, neither committed nor aborted). Released and deleted volumes are not listed.
 */
export type VolumeState = 'reserved' | 'committed' | 'deleting';

/** One volume the ledger charges to a tenant in a scope. */
export interface VolumeRow extends QuotaScope {
  /** The name the tenant created it with (the name the ledger keys it by). */
  volume: string;
  sizeKiB: number;
  state: VolumeState;
}

/** The unsettled holds counted by kind, and when the oldest was made or last found (Unix ms; none: no hold). */
export interface HoldSummary {
  counts: Record<HoldKind, number>;
  oldestSince: number | undefined;
}

/** A hold not yet settled: a reservation, a deletion or a resize. */
export interface Hold {
  kind: HoldKind;
  /** The id that settles it (commit/release, commitDelete/abortDelete, commitResize/abortResize). */
  id: ReservationId;
  scope: QuotaScope;
  volume: string;
  /**
   * Unix ms when the hold was made or last found by another request (`already-approved`,
   * `already-deleting`, `already-resizing`): the last moment a request relying on it could have been
   * forwarded.
   */
  since: number;
}

/** A hold with the size it is about. */
export interface PendingHold extends Hold {
  /** Reservation: the size reserved; deletion: the size charged; resize: the size asked for. */
  sizeKiB: number;
}

/** Raised when the store cannot be reached or answers too slowly: the decision becomes 503. */
export class LedgerUnavailableError extends Error {
  constructor(message = 'quota store unavailable', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerUnavailableError';
  }
}

export interface Ledger {
  reserve(scope: QuotaScope, volume: string, sizeKiB: number, quota: Quota): Promise<ReserveResult>;
  /** The volume exists on the array. Exactly once; returns false when there was nothing reserved to commit. */
  commit(reservation: ReservationId): Promise<boolean>;
  /**
   * The array has no such volume. Exactly once; a committed volume is never released. A claimed
   * reservation is kept (false) unless `options.since` allows it (see UndoOptions).
   */
  release(reservation: ReservationId, options?: UndoOptions): Promise<boolean>;
  beginDelete(scope: QuotaScope, volume: string): Promise<BeginDeleteResult>;
  /** The volume is gone from the array: frees the capacity once, however often repeated. */
  commitDelete(deletion: ReservationId): Promise<boolean>;
  /** The volume is still on the array: it stays charged and owned. A claimed deletion: as `release`. */
  abortDelete(deletion: ReservationId, options?: UndoOptions): Promise<boolean>;
  /** Holds the increase from the charged size to `newSizeKiB` against `quota` (see ResizeResult). */
  beginResize(scope: QuotaScope, volume: string, newSizeKiB: number, quota: Quota, options?: ResizeOptions): Promise<ResizeResult>;
  /** The array reports the new size: the volume is charged `newSizeKiB` from now on. Once. */
  commitResize(resize: ReservationId): Promise<boolean>;
  /** The array kept the old size: the increase is freed. Once. A claimed resize: as `release`. */
  abortResize(resize: ReservationId, options?: UndoOptions): Promise<boolean>;
  /**
   * Repair to the array's truth (late confirmation, reconciliation): the array has this volume of
   * this size, charged to this tenant. No quota check: the volume exists whatever the quota says.
   * A volume with a delete or resize in flight is left to that hold's settlement (`unchanged`).
   * `reason` goes into the scope's audit stream.
   */
  recordPresent(scope: QuotaScope, volume: string, sizeKiB: number, reason: string): Promise<PresentRepair>;
  /**
   * Repair to the array's truth: the array has no such volume. Whatever the ledger held for it
   * (reservation, deletion, resize, committed charge) is freed once. Returns whether anything was.
   */
  recordAbsent(scope: QuotaScope, volume: string, reason: string): Promise<boolean>;
  /**
   * Every scope (any tenant, any pool) of this system whose ledger has a volume of this name: a
   * volume the array has is only charged to a tenant nobody else holds it for.
   */
  holders(systemType: SystemType, systemID: string, volume: string): Promise<QuotaScope[]>;
  /** Is `volume` this tenant's in this scope, reserved or committed? (map / unmap / snapshot / expand) */
  owns(scope: QuotaScope, volume: string): Promise<boolean>;
  /** Used and reserved capacity per tenant/system/pool, O(1) per pool. */
  usage(tenant?: string): Promise<UsageRow[]>;
  /**
   * Every volume charged to `tenant` (or to every tenant), one row per volume, in no particular
   * order. The admin path: it reads every volume of each scope, unlike `usage`.
   */
  volumes(tenant?: string): Promise<VolumeRow[]>;
  /** Holds (of every kind) still unsettled after `olderThanMs`, oldest first. */
  pending(olderThanMs: number): Promise<PendingHold[]>;
  /**
   * The same holds without their sizes (`pending` reads one more value per hold): what
   * reconciliation needs to leave the volumes in flight alone. Streamed, a page of the store at a
   * time: a pass over 1.5 × 10^5 unsettled holds kept every one of them at once beside the ledger's
   * rows, 122–146 MiB of heap at its peak under serve's 256 MiB ceiling.
   */
  holds(olderThanMs: number): AsyncIterable<Hold>;
  /**
   * How many holds of each kind are unsettled, and the oldest's time: what /metrics and the status
   * report, without reading each hold's size as `pending` does.
   */
  holdSummary(): Promise<HoldSummary>;
  close(): Promise<void>;
}

/**
 * Raised before any state changes when a caller passes a bad size, quota, scope, volume name or
 * reservation id: the decision becomes a 400 with this message (never a 503, never an allow).
 */
export class LedgerInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerInputError';
  }
}
