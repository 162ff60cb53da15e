// The two load shapes, independent of the transport: `call` performs one decision and says how it
// ended. Closed loop = fixed concurrency, measures the throughput ceiling. Open loop = fixed offered
// rate, measures latency from each call's *intended* send time, so a stalled server is charged for
// the calls it delayed (no coordinated omission).
import { LatencyRecorder, summarise, type LatencySummary } from './stats.js';

export type Outcome = { kind: 'allow' } | { kind: 'deny'; detail: string } | { kind: 'error'; detail: string };

export type LoadShape =
  | { kind: 'closed'; concurrency: number; durationMs: number }
  | { kind: 'closed'; concurrency: number; calls: number }
  /** `keepSamples`: the result carries every latency, so runs interleaved with others can be merged. */
  | { kind: 'open'; rate: number; durationMs: number; keepSamples?: boolean };

export interface RunResult {
  shape: LoadShape;
  elapsedMs: number;
  completed: number;
  allowed: number;
  denied: number;
  errors: number;
  /** Completed calls per second of wall time. */
  throughput: number;
  /** Closed loop: call round trip. Open loop: from the intended send time to the answer. */
  latency: LatencySummary;
  /** Open loop only: from the actual send to the answer (what the server alone cost, queueing included). */
  serviceTime?: LatencySummary;
  /** Open loop with `keepSamples`: every latency (ms, from the intended send time). */
  samples?: number[];
  /** The first deny and error seen, so a run that measured refusals instead of decisions is obvious. */
  firstDeny?: string;
  firstError?: string;
}

/** How a run's calls ended, without its latencies (what a report keeps per run). */
export type OutcomeCounts = Pick<RunResult, 'completed' | 'allowed' | 'denied' | 'errors' | 'firstDeny' | 'firstError'>;

export const outcomeCounts = (result: RunResult): OutcomeCounts => ({
  completed: result.completed,
  allowed: result.allowed,
  denied: result.denied,
  errors: result.errors,
  ...(result.firstDeny !== undefined && { firstDeny: result.firstDeny }),
  ...(result.firstError !== undefined && { firstError: result.firstError }),
});

/**
 * One run's latency summary and outcome counts from slices of it run apart (open loop with
 * `keepSamples`): percentiles over every slice's samples together, counts summed.
 */
export function mergeSlices(slices: readonly RunResult[]): { latency: LatencySummary } & OutcomeCounts {
  const samples = slices.flatMap((slice) => {
    if (slice.samples === undefined) throw new Error('mergeSlices needs open-loop runs made with keepSamples');
    return slice.samples;
  });
  const counts = slices.map(outcomeCounts);
  const firstDeny = counts.find((c) => c.firstDeny !== undefined)?.firstDeny;
  const firstError = counts.find((c) => c.firstError !== undefined)?.firstError;
  const sum = (field: 'completed' | 'allowed' | 'denied' | 'errors'): number => counts.reduce((total, c) => total + c[field], 0);
  return {
    latency: summarise(Float64Array.from(samples)),
    completed: sum('completed'),
    allowed: sum('allowed'),
    denied: sum('denied'),
    errors: sum('errors'),
    ...(firstDeny !== undefined && { firstDeny }),
    ...(firstError !== undefined && { firstError }),
  };
}

type Clock = () => number;
const defaultClock: Clock = () => performance.now();

class Tally {
  allowed = 0;
  denied = 0;
  errors = 0;
  firstDeny?: string;
  firstError?: string;

  add(outcome: Outcome): void {
    if (outcome.kind === 'allow') this.allowed++;
    else if (outcome.kind === 'deny') {
      this.denied++;
      this.firstDeny ??= outcome.detail;
    } else {
      this.errors++;
      this.firstError ??= outcome.detail;
    }
  }
}

const asOutcome = (error: unknown): Outcome => ({ kind: 'error', detail: error instanceof Error ? error.message : String(error) });

export function runLoad(call: () => Promise<Outcome>, shape: LoadShape, clock: Clock = defaultClock): Promise<RunResult> {
  return shape.kind === 'open' ? runOpen(call, shape, clock) : runClosed(call, shape, clock);
}

async function runClosed(call: () => Promise<Outcome>, shape: Extract<LoadShape, { kind: 'closed' }>, clock: Clock): Promise<RunResult> {
  const latency = new LatencyRecorder();
  const tally = new Tally();
  const start = clock();
  let issued = 0;
  const more = 'calls' in shape ? () => issued < shape.calls : () => clock() - start < shape.durationMs;
  const worker = async (): Promise<void> => {
    while (more()) {
      issued++;
      const sent = clock();
      const outcome = await call().catch(asOutcome);
      latency.record(clock() - sent);
      tally.add(outcome);
    }
  };
  await Promise.all(Array.from({ length: shape.concurrency }, worker));
  const elapsedMs = clock() - start;
  return result(shape, elapsedMs, latency, tally);
}

function runOpen(call: () => Promise<Outcome>, shape: Extract<LoadShape, { kind: 'open' }>, clock: Clock): Promise<RunResult> {
  const latency = new LatencyRecorder();
  const service = new LatencyRecorder();
  const tally = new Tally();
  const interval = 1000 / shape.rate;
  const total = Math.max(1, Math.floor((shape.rate * shape.durationMs) / 1000));
  const start = clock();
  let sent = 0;
  let done = 0;
  return new Promise((resolve) => {
    const send = (intended: number): void => {
      const actual = clock();
      void call()
        .catch(asOutcome)
        .then((outcome) => {
          const now = clock();
          latency.record(now - intended);
          service.record(now - actual);
          tally.add(outcome);
          if (++done === total) resolve({ ...result(shape, clock() - start, latency, tally), serviceTime: service.summary(), ...(shape.keepSamples === true && { samples: latency.values() }) });
        });
    };
    // Timers fire late, never early: every call whose intended time has passed is sent at once and
    // its lateness is charged to it (the latency clock starts at the intended time).
    const tick = (): void => {
      const now = clock();
      while (sent < total && start + sent * interval <= now) send(start + sent++ * interval);
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - clock()));
    };
    tick();
  });
}

function result(shape: LoadShape, elapsedMs: number, latency: LatencyRecorder, tally: Tally): RunResult {
  return {
    shape,
    elapsedMs,
    completed: latency.count,
    allowed: tally.allowed,
    denied: tally.denied,
    errors: tally.errors,
    throughput: (latency.count * 1000) / elapsedMs,
    latency: latency.summary(),
    ...(tally.firstDeny !== undefined && { firstDeny: tally.firstDeny }),
    ...(tally.firstError !== undefined && { firstError: tally.firstError }),
  };
}
