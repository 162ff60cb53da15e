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

/** Opaque, self-describing id of one reservation (or one delete); travels in Envoy dynamic metadata. */
export type ReservationId = string;

export type ReserveResult =
  | { status: 'approved'; reservation: ReservationId }
  | { status: 'already-approved'; reservation: ReservationId }
  | { status: 'denied'; usedKiB: number; quotaKiB: number; requestedKiB: number };

export type BeginDeleteResult = { status: 'ok'; deletion: ReservationId } | { status: 'not-owner' };

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

export interface PendingReservation {
  reservation: ReservationId;
  scope: QuotaScope;
  volume: string;
  sizeKiB: number;
  /** Unix ms when reserved. */
  since: number;
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
  /** After the array said 2xx. Exactly once; a second call is a no-op. */
  commit(reservation: ReservationId): Promise<void>;
  /** After the array said anything else. Exactly once; a second call is a no-op. */
  release(reservation: ReservationId): Promise<void>;
  beginDelete(scope: QuotaScope, volume: string): Promise<BeginDeleteResult>;
  /** Frees the capacity once, however often repeated. */
  commitDelete(deletion: ReservationId): Promise<void>;
  abortDelete(deletion: ReservationId): Promise<void>;
  /** Is `volume` a committed volume of this tenant in this scope? (map / unmap / snapshot) */
  owns(scope: QuotaScope, volume: string): Promise<boolean>;
  /** Used and reserved capacity per tenant/system/pool, O(1) per pool. */
  usage(tenant?: string): Promise<UsageRow[]>;
  /**
   * Every volume charged to `tenant` (or to every tenant), one row per volume, in no particular
   * order. The admin path: it reads every volume of each scope, unlike `usage`.
   */
  volumes(tenant?: string): Promise<VolumeRow[]>;
  /** Reservations still pending after `olderThanMs`. */
  pending(olderThanMs: number): Promise<PendingReservation[]>;
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
