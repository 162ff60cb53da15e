// What reconciliation finds when it compares the ledger with an array's own volume list, and where
// the last finding of each system is kept so every replica's admin API shows the same drift.
import type { SystemType } from '../resources/types.js';

/**
 * `missing-on-array`: the ledger charges a volume the array does not have (deleted out of band, a
 * lost delete). `unaccounted-on-array`: the array has a volume of a tenant (by ledger record or by
 * the tenant's volumePrefix) that is not charged. `size-mismatch`: charged at another size than the
 * array reports (expanded out of band).
 */
export type DriftKind = 'missing-on-array' | 'unaccounted-on-array' | 'size-mismatch';

export interface DriftFinding {
  kind: DriftKind;
  /** The tenant it is charged to, or would be; undefined for a volume no tenant's prefix matches. */
  tenant?: string;
  systemType: SystemType;
  systemID: string;
  pool: string;
  volume: string;
  /** Size charged in the ledger (absent when not charged). */
  ledgerKiB?: number;
  /** Size on the array (absent when not there). */
  arrayKiB?: number;
  /** The ledger now matches the array; false in report mode or when nobody owns it. */
  repaired: boolean;
}

/**
 * How many findings a saved report lists. An array can hold ~10^5 volumes that no tenant's ledger
 * charges (another cluster's, or a tenant's before it was configured): the report keeps their counts
 * and capacities (`tally`) but names only this many, those with a tenant (repairable) first.
 */
export const MAX_LISTED_FINDINGS = 1000;

/**
 * Findings with a tenant one repair pass acts on at most (each is one more question to the array):
 * a mass deletion out of band is repaired in one pass, not a thousand per poll interval, and the
 * pass still holds a bounded number of them (one small object each).
 */
export const MAX_REPAIRS_PER_PASS = 100_000;

/** Every finding of one kind, tenant and pool of a pass, listed or not. */
export interface DriftTally {
  kind: DriftKind;
  tenant?: string;
  systemType: SystemType;
  systemID: string;
  pool: string;
  count: number;
  /** Of those, not repaired (report mode, nobody owns them, the repair was refused, or not listed). */
  unrepaired: number;
  /** Sums of the findings' `ledgerKiB` and `arrayKiB`. */
  ledgerKiB: number;
  arrayKiB: number;
}

/** One system's last reconciliation pass. */
export interface DriftReport {
  systemType: SystemType;
  systemID: string;
  /** Unix ms when the pass finished. */
  at: number;
  mode: ReconcileMode;
  /** The first MAX_LISTED_FINDINGS findings (those with a tenant first); `findingsTotal` counts them all. */
  findings: DriftFinding[];
  /** How many findings the pass made; more than `findings.length` when the list is truncated. */
  findingsTotal: number;
  /** Counts and capacities of every finding, by kind, tenant and pool. */
  tally: DriftTally[];
  /** The pass could not list the array (or the ledger): nothing was compared. */
  error?: string;
}

/** `repair`: the ledger is corrected to the array; `report`: nothing changes, drift is only reported. */
export type ReconcileMode = 'repair' | 'report';

/**
 * Where passes coordinate: a lease per system so one replica at a time reconciles it, and the last
 * report per system. Both ledgers implement it (Redis: shared by every replica; memory: in-process).
 */
export interface ReconcileStore {
  /** True when `holder` now holds the system's lease for `ttlMs` (nobody else held it). */
  claimReconcile(systemType: SystemType, systemID: string, holder: string, ttlMs: number): Promise<boolean>;
  saveDrift(report: DriftReport): Promise<void>;
  /** The last report of each system that has one. */
  driftReports(): Promise<DriftReport[]>;
}
