// Where a server's tail latency comes from, measured inside the server process itself (bench only:
// bench/servers/ours.ts and bench/floor.ts answer `{op: 'tail-start'}` / `{op: 'tail-stop'}` over
// IPC, so `storage-authz serve` carries none of it): event-loop delay from
// perf_hooks.monitorEventLoopDelay (1 ms resolution) and every GC pause from a 'gc' PerformanceObserver.
import { monitorEventLoopDelay, PerformanceObserver, constants, type IntervalHistogram } from 'node:perf_hooks';

export interface TailReport {
  /** Event-loop delay, ms: how late the loop ran a timer that was due (a stall delays every call queued behind it). */
  loopDelay: { p50: number; p99: number; p999: number; max: number; mean: number };
  /** GC pauses during the run, ms. */
  gc: { count: number; totalMs: number; p99Ms: number; maxMs: number; major: number };
  elapsedMs: number;
}

const nsToMs = (ns: number): number => ns / 1e6;

export class TailRecorder {
  private histogram: IntervalHistogram | undefined;
  private observer: PerformanceObserver | undefined;
  private pauses: number[] = [];
  private major = 0;
  private startedAt = 0;

  start(): void {
    this.stop();
    this.pauses = [];
    this.major = 0;
    this.histogram = monitorEventLoopDelay({ resolution: 1 });
    this.histogram.enable();
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.pauses.push(entry.duration);
        if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.major += 1;
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
    this.startedAt = performance.now();
  }

  /** The figures since start(); undefined when it was not started. */
  stop(): TailReport | undefined {
    const { histogram, observer } = this;
    if (!histogram || !observer) return undefined;
    histogram.disable();
    observer.disconnect();
    this.histogram = undefined;
    this.observer = undefined;
    const sorted = [...this.pauses].sort((a, b) => a - b);
    const at = (q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : 0);
    return {
      loopDelay: {
        p50: nsToMs(histogram.percentile(50)),
        p99: nsToMs(histogram.percentile(99)),
        p999: nsToMs(histogram.percentile(99.9)),
        max: nsToMs(histogram.max),
        mean: nsToMs(histogram.mean),
      },
      gc: { count: sorted.length, totalMs: sorted.reduce((a, b) => a + b, 0), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? 0, major: this.major },
      elapsedMs: performance.now() - this.startedAt,
    };
  }
}

/** The IPC handler every bench server shares: tail-start / tail-stop, else `fallback` (memory reports). */
export function tailOps(recorder: TailRecorder, fallback: (body: unknown) => Promise<unknown>): (body: unknown) => Promise<unknown> {
  return async (body) => {
    const op = (body as { op?: string } | undefined)?.op;
    if (op === 'tail-start') return recorder.start();
    if (op === 'tail-stop') return recorder.stop() ?? null;
    return fallback(body);
  };
}
