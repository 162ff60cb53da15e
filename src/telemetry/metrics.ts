// Metrics (OpenTelemetry API + SDK, Prometheus text exposition on the admin or status listener).
// Every instrument of the service and the sidecar is made here; the rest of the code records through
// the narrow interfaces below (DecisionMetrics, the instrumented ledger, observed sources), so the
// SDK is swapped or configured in one place. Counters and histograms are bound to their label sets
// (boundInstruments.ts: the SDK's own would hash the attributes on every record); gauges read at
// scrape time are the SDK's observable instruments.
import type http from 'node:http';
import type { Attributes, BatchObservableResult, Meter, ObservableResult } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { usageReport } from '../admin/usage.js';
import type { Ledger } from '../ledger/types.js';
import type { Phase } from '../pipeline/observe/observe.js';
import { driftTallies } from '../reconcile/findings.js';
import type { ReconcileStore } from '../reconcile/types.js';
import type { ResourceSource } from '../resources/types.js';
import { BoundInstruments, type BoundCounterInstrument, type BoundHistogramInstrument } from './boundInstruments.js';
import type { Logger } from './log.js';

// Names carry their unit (`_seconds`, `_bytes`) as Prometheus's conventions ask: this exporter writes
// the OpenTelemetry unit only as a `# UNIT` comment, not as a name suffix.

/** Seconds; decisions are sub-millisecond to a few seconds (array logins and lookups). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** One meter provider and its Prometheus reader; `handle` answers a scrape. */
export class MetricsRegistry {
  readonly meter: Meter;
  /** The counters and histograms (collected with the meter's instruments). */
  readonly bound: BoundInstruments;
  private readonly exporter: PrometheusExporter;
  private readonly provider: MeterProvider;

  constructor(name: string) {
    // The exporter is only a reader here: the process's own listener serves it (no second port).
    this.bound = new BoundInstruments(name);
    this.exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true, metricProducers: [this.bound] });
    this.provider = new MeterProvider({ readers: [this.exporter] });
    this.meter = this.provider.getMeter(name);
  }

  /** Answers GET /metrics with the text exposition format. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.exporter.getMetricsRequestHandler(req, res);
  }

  close(): Promise<void> {
    return this.provider.shutdown();
  }
}

const latencyHistogram = (registry: MetricsRegistry, name: string, description: string): BoundHistogramInstrument =>
  registry.bound.histogram(name, { description, unit: 's', boundaries: LATENCY_BUCKETS });

/** What the decision pipeline records. */
export interface DecisionMetrics {
  phase(phase: Phase, seconds: number): void;
  decision(outcome: 'allow' | 'deny', reason: string, operation: string, arrayType: string, tenant: string, seconds: number): void;
  /** An allow that `enforce` would have denied (report mode), by the denial's reason. */
  wouldDeny(reason: string, operation: string, arrayType: string, tenant: string): void;
}

export interface ServiceMetricsOptions {
  /** Label decisions with the tenant: one series per tenant × reason × operation, so off by default. */
  tenantLabel?: boolean;
}

const LEDGER_SETTLEMENTS: Record<string, { kind: string; outcome: string }> = {
  commit: { kind: 'reservation', outcome: 'committed' },
  release: { kind: 'reservation', outcome: 'released' },
  commitDelete: { kind: 'deletion', outcome: 'committed' },
  abortDelete: { kind: 'deletion', outcome: 'aborted' },
  commitResize: { kind: 'resize', outcome: 'committed' },
  abortResize: { kind: 'resize', outcome: 'aborted' },
};

/** The serve process's instruments. */
export class ServiceMetrics implements DecisionMetrics {
  private readonly decisions: BoundCounterInstrument;
  private readonly wouldDenials: BoundCounterInstrument;
  private readonly decisionDuration: BoundHistogramInstrument;
  private readonly phaseDuration: BoundHistogramInstrument;
  private readonly ledgerOperations: BoundCounterInstrument;
  private readonly ledgerDuration: BoundHistogramInstrument;
  private readonly settlements: BoundCounterInstrument;
  private readonly reloadFailures: BoundCounterInstrument;
  private readonly auditFailures: BoundCounterInstrument;
  private readonly tenantLabel: boolean;

  constructor(private readonly registry: MetricsRegistry, options: ServiceMetricsOptions = {}) {
    const { bound } = registry;
    this.tenantLabel = options.tenantLabel ?? false;
    this.decisions = bound.counter('storage_authz.decisions', { description: 'Check decisions by outcome, reason, operation and array type' });
    this.wouldDenials = bound.counter('storage_authz.decisions.would_deny', {
      description: 'Allows that enforcement would have denied (report mode), by the denial reason, operation and array type',
    });
    this.decisionDuration = latencyHistogram(registry, 'storage_authz.decision.duration_seconds', 'Time to decide one Check, by outcome');
    this.phaseDuration = latencyHistogram(registry, 'storage_authz.decision.phase.duration_seconds', 'Time spent in each decision phase');
    this.ledgerOperations = bound.counter('storage_authz.ledger.operations', { description: 'Quota ledger calls by operation and result (ok, error)' });
    this.ledgerDuration = latencyHistogram(registry, 'storage_authz.ledger.operation.duration_seconds', 'Quota ledger call latency by operation');
    this.settlements = bound.counter('storage_authz.settlements', {
      description: 'Holds settled, by kind (reservation, deletion, resize) and outcome; applied=false when already settled',
    });
    this.reloadFailures = bound.counter('storage_authz.reload.failures', { description: 'Rejected reloads of resources, policy roles or signing keys; the previous value stays in force' });
    this.auditFailures = bound.counter('storage_authz.audit.write_failures', { description: 'Decision audit records not written to the recent-decisions store' });
  }

  phase(phase: Phase, seconds: number): void {
    this.phaseDuration.bind(phase, () => ({ phase })).record(seconds);
  }

  decision(outcome: 'allow' | 'deny', reason: string, operation: string, arrayType: string, tenant: string, seconds: number): void {
    const labelled = this.tenantLabel ? tenant : '';
    this.decisions
      .bind(`${outcome}\0${reason}\0${operation}\0${arrayType}\0${labelled}`, () => ({
        outcome,
        reason,
        operation,
        array_type: arrayType,
        ...(this.tenantLabel && { tenant }),
      }))
      .add(1);
    this.decisionDuration.bind(outcome, () => ({ outcome })).record(seconds);
  }

  wouldDeny(reason: string, operation: string, arrayType: string, tenant: string): void {
    const labelled = this.tenantLabel ? tenant : '';
    this.wouldDenials
      .bind(`${reason}\0${operation}\0${arrayType}\0${labelled}`, () => ({
        reason,
        operation,
        array_type: arrayType,
        ...(this.tenantLabel && { tenant }),
      }))
      .add(1);
  }

  reloadFailed(source: 'resources' | 'policy' | 'keys'): void {
    this.reloadFailures.bind(source, () => ({ source })).add(1);
  }

  auditWriteFailed(): void {
    this.auditFailures.bind('', () => ({})).add(1);
  }

  /** The same ledger, each call counted and timed; settlement calls also count as settlements. */
  instrumentLedger<L extends Ledger>(ledger: L): L {
    return new Proxy(ledger, {
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string' || property === 'close') return value;
        return (...args: unknown[]) => {
          const started = performance.now();
          const done = (result: string) => {
            this.ledgerOperations.bind(`${property}\0${result}`, () => ({ operation: property, result })).add(1);
            this.ledgerDuration.bind(property, () => ({ operation: property })).record((performance.now() - started) / 1000);
          };
          const returned: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (!(returned instanceof Promise)) return returned;
          return returned.then(
            (result: unknown) => {
              done('ok');
              const settlement = LEDGER_SETTLEMENTS[property];
              if (settlement) {
                const applied = result === true;
                this.settlements.bind(`${property}\0${applied}`, () => ({ ...settlement, applied: String(applied) })).add(1);
              }
              return result;
            },
            (error: unknown) => {
              done('error');
              throw error;
            },
          );
        };
      },
    });
  }

  /**
   * Gauges read at scrape time: quota limit/used/reserved per scope, holds pending and the oldest's
   * age, the last reconciliation's drift per scope, the resource generation. A source that cannot be
   * read (Redis down) leaves its gauges out of that scrape.
   */
  observe(sources: { ledger: Ledger & ReconcileStore; resources: ResourceSource; logger: Logger; now?: () => number }): void {
    const { meter } = this.registry;
    const now = sources.now ?? Date.now;
    const quotaLimit = meter.createObservableGauge('storage_authz.quota.limit_bytes', { description: 'Quota per tenant and pool (absent when unlimited)', unit: 'By' });
    const quotaUsed = meter.createObservableGauge('storage_authz.quota.used_bytes', { description: 'Capacity the array confirmed, per tenant and pool', unit: 'By' });
    const quotaReserved = meter.createObservableGauge('storage_authz.quota.reserved_bytes', { description: 'Capacity reserved, not yet confirmed by the array', unit: 'By' });
    const holdsPending = meter.createObservableGauge('storage_authz.holds.pending', { description: 'Unsettled holds by kind' });
    const holdsAge = meter.createObservableGauge('storage_authz.holds.oldest_age_seconds', { description: 'Age of the oldest unsettled hold', unit: 's' });
    const drift = meter.createObservableGauge('storage_authz.reconcile.drift', { description: 'Volumes the last reconciliation found differing, per scope and kind' });
    const generation = meter.createObservableGauge('storage_authz.resources.generation', { description: 'Generation of the resources in force (increases on each accepted change)' });
    generation.addCallback((result) => result.observe(sources.resources.current().generation));

    const scopeAttributes = (row: { systemType: string; systemID: string; pool: string; tenant?: string }): Attributes => ({
      array_type: row.systemType,
      system: row.systemID,
      pool: row.pool,
      tenant: row.tenant ?? '',
    });
    const guarded = <A>(what: string, read: (arg: A) => Promise<void>) => async (arg: A) => {
      try {
        await read(arg);
      } catch (error) {
        sources.logger.debug({ err: (error as Error).message }, `${what} not read for /metrics`);
      }
    };
    meter.addBatchObservableCallback(
      guarded('quota usage', async (observer: BatchObservableResult) => {
        const rows = usageReport(sources.resources.current(), await sources.ledger.usage());
        for (const row of rows) {
          const attributes = scopeAttributes(row);
          if (row.quotaKiB !== null) observer.observe(quotaLimit, row.quotaKiB * 1024, attributes);
          observer.observe(quotaUsed, row.usedKiB * 1024, attributes);
          observer.observe(quotaReserved, row.reservedKiB * 1024, attributes);
        }
      }),
      [quotaLimit, quotaUsed, quotaReserved],
    );
    meter.addBatchObservableCallback(
      guarded('pending holds', async (observer: BatchObservableResult) => {
        const { counts, oldestSince } = await sources.ledger.holdSummary();
        for (const [kind, count] of Object.entries(counts)) observer.observe(holdsPending, count, { kind });
        observer.observe(holdsAge, oldestSince === undefined ? 0 : Math.max(0, (now() - oldestSince) / 1000));
      }),
      [holdsPending, holdsAge],
    );
    drift.addCallback(
      guarded('drift', async (result: ObservableResult) => {
        const counts = new Map<string, { attributes: Attributes; count: number }>();
        for (const tally of driftTallies(await sources.ledger.driftReports())) {
          const attributes = { ...scopeAttributes(tally), kind: tally.kind };
          const key = JSON.stringify(attributes);
          const entry = counts.get(key) ?? { attributes, count: 0 };
          entry.count += tally.count;
          counts.set(key, entry);
        }
        for (const { attributes, count } of counts.values()) result.observe(count, attributes);
      }),
    );
  }
}

/** The sidecar's instruments: its token and its refreshes. */
export class SidecarMetrics {
  private readonly refreshes: BoundCounterInstrument;

  constructor(
    private readonly registry: MetricsRegistry,
    private readonly now: () => number = Date.now,
  ) {
    this.refreshes = registry.bound.counter('storage_authz.sidecar.token.refreshes', { description: 'Access-token refreshes by result (ok, failed)' });
    // Both series exist from the start, so an alert on rate(failed) sees 0 rather than no data.
    this.refreshed('ok', 0);
    this.refreshed('failed', 0);
  }

  /** The token's expiry, read at each scrape. */
  tokenExpiry(expiresAt: () => number | undefined): void {
    this.registry.meter
      .createObservableGauge('storage_authz.sidecar.token.expiry_seconds', { description: 'Seconds until the access token in use expires (negative: expired)', unit: 's' })
      .addCallback((result) => {
        const at = expiresAt();
        if (at !== undefined) result.observe((at - this.now()) / 1000);
      });
  }

  refreshed(result: 'ok' | 'failed', count = 1): void {
    this.refreshes.bind(result, () => ({ result })).add(count);
  }
}
