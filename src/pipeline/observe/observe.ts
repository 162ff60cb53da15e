// What the pipeline tells the outside about one decision (metrics and the audit trail,
// src/telemetry/): the time spent per phase, and the decision with the facts it was made on. One
// small facts object per request, filled as the phases learn things; never a token or a credential.
import type { Operation } from '../../arrays/types.js';
import type { Decision, RequestView } from '../types.js';

/** The phases of a decision in order (src/pipeline/<phase>/); `credentials` is the array login before anything is held. */
export type Phase = 'target' | 'identity' | 'operation' | 'enrich' | 'authorize' | 'credentials' | 'ledger' | 'response';

/** The quota a refused charge was held to (KiB), and where. */
export interface QuotaFigures {
  pool: string;
  quotaKiB: number;
  usedKiB: number;
  requestedKiB: number;
}

/** One phase run, in performance.now() milliseconds (a trace's child span). */
export interface PhaseTiming {
  phase: Phase;
  startedAt: number;
  endedAt: number;
}

export interface DecisionFacts {
  /** performance.now() when the decision started. */
  startedAt: number;
  /** The phase being run: on a denial, the phase that refused. */
  phase: Phase;
  /** The phases run so far, in order. */
  phases: PhaseTiming[];
  /** Envoy stopped waiting for the decision (its Check deadline) while this phase ran. */
  timedOut?: boolean;
  arrayType?: string;
  tenant?: string;
  systemID?: string;
  operation?: string;
  pool?: string;
  volume?: string;
  sizeKiB?: number;
  quota?: QuotaFigures;
  /** Report mode: the quota denial `enforce` would have answered, let through (policy's or ledger's, the first). */
  wouldDeny?: WouldDeny;
}

/** A quota denial let through in report mode: what the driver would have been told. */
export interface WouldDeny {
  status: number;
  reason: string;
  message: string;
  quota?: QuotaFigures;
}

export interface DecisionObserver {
  phase(phase: Phase, seconds: number): void;
  decided(request: RequestView, decision: Decision, facts: DecisionFacts): void;
}

export const NO_OBSERVER: DecisionObserver = { phase() {}, decided() {} };

/** Several observers as one (metrics and audit, traces), each told everything in order. */
export function allObservers(observers: readonly DecisionObserver[]): DecisionObserver {
  if (observers.length === 1) return observers[0]!;
  return {
    phase: (phase, seconds) => observers.forEach((observer) => observer.phase(phase, seconds)),
    decided: (request, decision, facts) => observers.forEach((observer) => observer.decided(request, decision, facts)),
  };
}

interface Subject {
  name?: string;
  poolName?: string;
  sizeKiB?: number;
}

/**
 * Pool, volume and size of an operation, from the operation itself and what enrich found (a pool
 * name, or the volume(s) it acts on): the audit names what a request was about.
 */
export function describeSubject(facts: DecisionFacts, operation: Operation, found: unknown): void {
  const fields = operation as { name?: unknown; sizeKiB?: unknown; newSizeKiB?: unknown };
  const source = (Array.isArray(found) ? found[0] : found) as Subject | string | undefined;
  if (typeof source === 'string') facts.pool = source;
  else if (source && typeof source === 'object') {
    if (typeof source.poolName === 'string') facts.pool = source.poolName;
    if (typeof source.name === 'string') facts.volume = source.name;
    if (typeof source.sizeKiB === 'number') facts.sizeKiB = source.sizeKiB;
  }
  // A new name (create, clone, quota) is the volume the request is about; a new size is what it asks for.
  if (typeof fields.name === 'string') facts.volume = fields.name;
  if (typeof fields.sizeKiB === 'number') facts.sizeKiB = fields.sizeKiB;
  if (typeof fields.newSizeKiB === 'number') facts.sizeKiB = fields.newSizeKiB;
}
