// Counters and histograms the decision path records into, bound to their label sets. The SDK's
// synchronous instruments find a label set's series by hashing its attributes on every record (keys
// sorted, then JSON.stringify): a decision records ten times, and that was 4% of a read's CPU in the
// bench profile. Here a series is found once per label set and held by the caller; recording is a
// few additions. The SDK still exports them, through its MetricProducer extension point (the reader
// merges producers' metrics into each collection), in its own data model: cumulative sums and
// explicit-bucket histograms, so the exposition is what its instruments would have written.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type CollectionResult, type MetricData, type MetricProducer } from '@opentelemetry/sdk-metrics';

const hrTime = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

export interface BoundCounter {
  add(value: number): void;
}

export interface BoundHistogram {
  record(value: number): void;
}

/** One label set's running totals. */
class CounterSeries implements BoundCounter {
  value = 0;
  add(value: number): void {
    if (value >= 0) this.value += value; // a counter only grows, as the SDK's drops negatives
  }
}

class HistogramSeries implements BoundHistogram {
  readonly counts: number[];
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(private readonly boundaries: readonly number[]) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  record(value: number): void {
    if (!(value >= 0)) return; // NaN and negatives, as the SDK's histogram drops them
    // Bucket i holds (boundaries[i-1], boundaries[i]]; a dozen boundaries, so a linear scan.
    let bucket = 0;
    while (bucket < this.boundaries.length && value > this.boundaries[bucket]!) bucket += 1;
    this.counts[bucket]! += 1;
    this.count += 1;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
}

/** An instrument's series by label set: `bind` once per label set, record through what it returns. */
class Instrument<S> {
  private readonly series = new Map<string, { attributes: Attributes; series: S }>();

  constructor(
    readonly name: string,
    readonly description: string,
    readonly unit: string,
    private readonly create: () => S,
  ) {}

  /** The series of these attributes; `key` names the label set (the caller's cheap string for it). */
  bind(key: string, attributes: () => Attributes): S {
    let found = this.series.get(key);
    if (!found) {
      found = { attributes: Object.freeze(attributes()), series: this.create() };
      this.series.set(key, found);
    }
    return found.series;
  }

  entries(): Iterable<{ attributes: Attributes; series: S }> {
    return this.series.values();
  }
}

export type BoundCounterInstrument = Instrument<BoundCounter>;
export type BoundHistogramInstrument = Instrument<BoundHistogram>;

const descriptor = (instrument: Instrument<unknown>) => ({ name: instrument.name, description: instrument.description, unit: instrument.unit, valueType: ValueType.DOUBLE });

export class BoundInstruments implements MetricProducer {
  /** Each instrument's collection, in the order they were made (the exposition's order). */
  private readonly collectors: ((startTime: HrTime, endTime: HrTime) => MetricData | undefined)[] = [];
  private readonly startTime = hrTime(Date.now());

  /** `scope`: the instrumentation scope its metrics are collected under (the meter's name). */
  constructor(private readonly scope: string) {}

  counter(name: string, options: { description: string }): BoundCounterInstrument {
    const instrument = new Instrument(name, options.description, '', () => new CounterSeries());
    this.collectors.push((startTime, endTime) => {
      const dataPoints = [...instrument.entries()].map(({ attributes, series }) => ({ attributes, startTime, endTime, value: series.value }));
      if (dataPoints.length === 0) return undefined;
      return { descriptor: descriptor(instrument), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints };
    });
    return instrument;
  }

  histogram(name: string, options: { description: string; unit: string; boundaries: readonly number[] }): BoundHistogramInstrument {
    const boundaries = [...options.boundaries];
    const instrument = new Instrument(name, options.description, options.unit, () => new HistogramSeries(boundaries));
    this.collectors.push((startTime, endTime) => {
      const dataPoints = [...instrument.entries()].map(({ attributes, series }) => ({
        attributes,
        startTime,
        endTime,
        value: { buckets: { boundaries, counts: [...series.counts] }, count: series.count, sum: series.sum, min: series.min, max: series.max },
      }));
      if (dataPoints.length === 0) return undefined;
      return { descriptor: descriptor(instrument), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM, dataPoints };
    });
    return instrument;
  }

  collect(): Promise<CollectionResult> {
    const endTime = hrTime(Date.now());
    const metrics = this.collectors.map((collect) => collect(this.startTime, endTime)).filter((metric) => metric !== undefined);
    // The reader keeps the SDK's resource for the merged collection; this one is not used.
    return Promise.resolve({ resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: this.scope }, metrics }] }, errors: [] });
  }
}
