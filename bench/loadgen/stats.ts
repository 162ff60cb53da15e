// Latency summaries for the load generator: exact percentiles over every recorded sample (a run
// holds at most a few million, so sorting a Float64Array is cheaper than a lossy histogram).

export interface LatencySummary {
  count: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** A growable buffer of latencies in milliseconds. */
export class LatencyRecorder {
  private samples = new Float64Array(1024);
  private size = 0;

  record(ms: number): void {
    if (this.size === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.size++] = ms;
  }

  get count(): number {
    return this.size;
  }

  /** Every recorded latency, in recording order (what a caller merges across runs). */
  values(): number[] {
    return Array.from(this.samples.subarray(0, this.size));
  }

  summary(): LatencySummary {
    return summarise(this.samples.subarray(0, this.size));
  }
}

/** Nearest-rank percentiles (the sample at rank ceil(q·n)), so p99 of 100 samples is the 99th. */
export function summarise(samples: Float64Array): LatencySummary {
  const n = samples.length;
  if (n === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let total = 0;
  for (const value of sorted) total += value;
  return { count: n, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted[n - 1]!, mean: total / n };
}

/** Median of a few repeated measurements (rounds), robust to one disturbed round. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
