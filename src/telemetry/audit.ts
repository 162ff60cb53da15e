// The decision audit trail: one record per decision, allow and deny alike, to the log stream and to
// a bounded store of recent decisions (a Redis stream when Redis is the ledger, a ring in memory
// otherwise) that `authzctl why-denied` reads through the admin API. A record names who asked for
// what and why it was answered so; it never holds a header, a token or a credential.
import type { DecisionFacts, DecisionObserver, Phase, QuotaFigures } from '../pipeline/observe/observe.js';
import { LOCAL_ANSWER, type Decision, type RequestView } from '../pipeline/types.js';
import type { Logger } from './log.js';
import type { DecisionMetrics } from './metrics.js';

export interface DecisionRecord {
  /** The request id Envoy logs (x-request-id): the decision id. */
  id: string;
  /** ISO 8601. */
  time: string;
  outcome: 'allow' | 'deny';
  /** The HTTP status the driver saw on a denial (absent on an allow: the array answers). */
  status?: number;
  /** 'allowed', or the denial's reason (e.g. 'quota-exceeded', 'not-owner', 'token-expired'). */
  reason: string;
  /** The phase that refused; on an allow, the last one. */
  phase: Phase;
  /** What the driver was told (a denial's message). */
  message?: string;
  method: string;
  tenant?: string;
  arrayType?: string;
  systemID?: string;
  pool?: string;
  operation?: string;
  volume?: string;
  sizeKiB?: number;
  quotaKiB?: number;
  usedKiB?: number;
  requestedKiB?: number;
  /**
   * Report mode: an allow that `enforce` would have denied — the denial's status, reason and
   * message, and its quota figures (used before this charge) when the ledger made them.
   */
  wouldDeny?: { status: number; reason: string; message: string; quotaKiB?: number; usedKiB?: number; requestedKiB?: number };
  /** Decision time in milliseconds. */
  durationMs: number;
}

export interface DecisionQuery {
  id?: string;
  tenant?: string;
  volume?: string;
  /** Unix ms: only records at or after it. */
  since?: number;
  /** Newest first, at most this many. */
  limit: number;
}

/** A bounded store of recent decisions. */
export interface RecentDecisions {
  add(record: DecisionRecord): Promise<void>;
  /** Matching records, newest first (including those added but not yet written). */
  find(query: DecisionQuery): Promise<DecisionRecord[]>;
  /** Writes what is still queued (at shutdown, before the store's connection closes). */
  flush(): Promise<void>;
}

export const matches = (record: DecisionRecord, query: DecisionQuery): boolean =>
  (query.id === undefined || record.id === query.id) &&
  (query.tenant === undefined || record.tenant === query.tenant) &&
  (query.volume === undefined || record.volume === query.volume) &&
  (query.since === undefined || Date.parse(record.time) >= query.since);

/** The last `capacity` decisions of this process. */
export class MemoryRecentDecisions implements RecentDecisions {
  private readonly ring: DecisionRecord[] = [];
  private next = 0;

  constructor(private readonly capacity = 10_000) {}

  add(record: DecisionRecord): Promise<void> {
    if (this.ring.length < this.capacity) this.ring.push(record);
    else this.ring[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
    return Promise.resolve();
  }

  find(query: DecisionQuery): Promise<DecisionRecord[]> {
    const found: DecisionRecord[] = [];
    for (let i = 1; i <= this.ring.length && found.length < query.limit; i += 1) {
      const record = this.ring[(this.next - i + this.ring.length) % this.ring.length]!;
      if (matches(record, query)) found.push(record);
    }
    return Promise.resolve(found);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
}

/** The message a denial's body carried, whatever the array's error shape: the first string field that reads as one. */
function denialMessage(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const fields = parsed as Record<string, unknown>;
    for (const key of ['message', 'error', 'Message']) if (typeof fields[key] === 'string') return fields[key];
    // PowerStore / PowerScale shapes: {messages|errors: [{message|message_l10n}]}.
    for (const list of [fields.messages, fields.errors]) {
      const first = Array.isArray(list) ? (list[0] as Record<string, unknown> | undefined) : undefined;
      const text = first?.message ?? first?.message_l10n;
      if (typeof text === 'string') return text;
    }
  } catch {
    // not JSON: nothing to quote
  }
  return undefined;
}

const quotaFields = ({ quotaKiB, usedKiB, requestedKiB }: QuotaFigures) => ({ quotaKiB, usedKiB, requestedKiB });

export function decisionRecord(request: RequestView, decision: Decision, facts: DecisionFacts, durationMs: number, now: Date): DecisionRecord {
  const denied = decision.kind === 'deny';
  const message = denied ? denialMessage(decision.body) : undefined;
  return {
    id: request.id,
    time: now.toISOString(),
    outcome: decision.kind,
    ...(denied && { status: decision.status }),
    reason: denied ? decision.reason : 'allowed',
    phase: facts.phase,
    ...(message !== undefined && { message }),
    method: request.method,
    ...(facts.tenant !== undefined && { tenant: facts.tenant }),
    ...(facts.arrayType !== undefined && { arrayType: facts.arrayType }),
    ...(facts.systemID !== undefined && { systemID: facts.systemID }),
    ...((facts.quota?.pool ?? facts.pool) !== undefined && { pool: facts.quota?.pool ?? facts.pool }),
    ...(facts.operation !== undefined && { operation: facts.operation }),
    ...(facts.volume !== undefined && { volume: facts.volume }),
    ...(facts.sizeKiB !== undefined && { sizeKiB: facts.sizeKiB }),
    ...(facts.quota && quotaFields(facts.quota)),
    ...(facts.wouldDeny && {
      wouldDeny: {
        status: facts.wouldDeny.status,
        reason: facts.wouldDeny.reason,
        message: facts.wouldDeny.message,
        ...(facts.wouldDeny.quota && quotaFields(facts.wouldDeny.quota)),
      },
    }),
    durationMs: Math.round(durationMs * 1000) / 1000,
  };
}

export interface DecisionAuditOptions {
  metrics: DecisionMetrics & { auditWriteFailed(): void };
  store: RecentDecisions;
  logger: Logger;
  now?: () => Date;
}

/**
 * The pipeline's observer in `serve`: each decision counted and timed, logged as one `decision`
 * line and kept in the recent-decisions store (written after the answer, never delaying it). A
 * driver login answered locally is counted (`local-answer`) but is no decision to audit.
 */
export function decisionAudit(options: DecisionAuditOptions): DecisionObserver {
  const now = options.now ?? (() => new Date());
  return {
    phase: (phase, seconds) => options.metrics.phase(phase, seconds),
    decided(request, decision, facts) {
      const durationMs = performance.now() - facts.startedAt;
      const reason = decision.kind === 'deny' ? decision.reason : 'allowed';
      options.metrics.decision(decision.kind, reason, facts.operation ?? 'none', facts.arrayType ?? 'none', facts.tenant ?? '', durationMs / 1000);
      if (facts.wouldDeny) options.metrics.wouldDeny(facts.wouldDeny.reason, facts.operation ?? 'none', facts.arrayType ?? 'none', facts.tenant ?? '');
      if (reason === LOCAL_ANSWER) return;
      const record = decisionRecord(request, decision, facts, durationMs, now());
      options.logger.info({ decision: record }, 'decision');
      options.store.add(record).catch((error: unknown) => {
        options.metrics.auditWriteFailed();
        options.logger.warn({ err: (error as Error).message, requestId: record.id }, 'decision not kept in the recent-decisions store');
      });
    },
  };
}
