import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MetricsRegistry } from './metrics.js';

async function exposition(registry: MetricsRegistry): Promise<string> {
  const server = http.createServer((req, res) => registry.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

const BOUNDARIES = [0.001, 0.01, 0.1];
// Values on a boundary, between, above all, and ones a histogram drops (NaN, negative).
const VALUES = [0.0005, 0.001, 0.001, 0.005, 0.01, 0.5, 7, Number.NaN, -1];

describe('bound instruments', () => {
  const registries: MetricsRegistry[] = [];
  const registry = () => {
    const made = new MetricsRegistry('storage-authz');
    registries.push(made);
    return made;
  };
  after(() => Promise.all(registries.map((made) => made.close())));

  it("expose exactly what the SDK's own counter and histogram expose for the same records", async () => {
    const sdk = registry();
    const sdkHistogram = sdk.meter.createHistogram('test.latency_seconds', { description: 'latency', unit: 's', advice: { explicitBucketBoundaries: BOUNDARIES } });
    const sdkCounter = sdk.meter.createCounter('test.calls', { description: 'calls' });
    const ours = registry();
    const histogram = ours.bound.histogram('test.latency_seconds', { description: 'latency', unit: 's', boundaries: BOUNDARIES });
    const counter = ours.bound.counter('test.calls', { description: 'calls' });
    for (const [i, value] of VALUES.entries()) {
      const phase = i % 2 === 0 ? 'even' : 'odd';
      sdkHistogram.record(value, { phase });
      histogram.bind(phase, () => ({ phase })).record(value);
      sdkCounter.add(i, { phase, kind: 'x' });
      counter.bind(`${phase}\0x`, () => ({ phase, kind: 'x' })).add(i);
    }
    sdkCounter.add(-5, { phase: 'odd', kind: 'x' });
    counter.bind('odd\0x', () => ({ phase: 'odd', kind: 'x' })).add(-5);
    const expected = await exposition(sdk);
    expect(expected).to.contain('test_latency_seconds_bucket{phase="even",le="0.001"} 2');
    expect(await exposition(ours)).to.equal(expected);
  });

  it('expose a series from its first bind, and nothing of an instrument never bound', async () => {
    const ours = registry();
    ours.bound.counter('test.unused', { description: 'never bound' });
    ours.bound.counter('test.failures', { description: 'failures' }).bind('failed', () => ({ result: 'failed' })).add(0);
    const text = await exposition(ours);
    expect(text).to.contain('test_failures_total{result="failed"} 0');
    expect(text).to.not.contain('test_unused');
  });
});
