import { expect } from 'chai';
import { LatencyRecorder, summarise } from './stats.js';

describe('latency summaries', () => {
  it('reports nearest-rank percentiles over every sample', () => {
    const recorder = new LatencyRecorder();
    for (let ms = 100; ms >= 1; ms--) recorder.record(ms); // recorded in reverse: the summary sorts
    const summary = recorder.summary();
    expect(summary).to.include({ count: 100, p50: 50, p90: 90, p99: 99, p999: 100, max: 100, mean: 50.5 });
  });

  it('keeps every sample when it grows past its initial buffer', () => {
    const recorder = new LatencyRecorder();
    for (let i = 0; i < 5000; i++) recorder.record(i === 4999 ? 1000 : 1);
    expect(recorder.summary()).to.include({ count: 5000, p50: 1, max: 1000 });
  });

  it('says NaN rather than 0 when nothing was measured', () => {
    const summary = summarise(new Float64Array(0));
    expect(summary.count).to.equal(0);
    expect(Number.isNaN(summary.p99)).to.equal(true);
  });
});
