import { expect } from 'chai';
import { waitFor } from '../../src/harness/wait.js';
import { mergeSlices, runLoad, type Outcome } from './run.js';

describe('load shapes', () => {
  it('closed loop keeps exactly `concurrency` calls in flight and tallies outcomes', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let n = 0;
    const call = async (): Promise<Outcome> => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      n++;
      if (n % 10 === 0) return { kind: 'deny', detail: '507 not enough quota' };
      if (n % 25 === 0) throw new Error('UNAVAILABLE');
      return { kind: 'allow' };
    };
    const result = await runLoad(call, { kind: 'closed', concurrency: 8, calls: 200 });
    expect(maxInFlight).to.equal(8);
    expect(result.completed).to.equal(200);
    expect(result.denied).to.equal(20);
    expect(result.errors).to.equal(4); // 25, 75, 125, 175 (50/100/150/200 are denies)
    expect(result.allowed).to.equal(176);
    expect(result.firstDeny).to.equal('507 not enough quota');
    expect(result.firstError).to.equal('UNAVAILABLE');
  });

  it('open loop charges a late send to the call from its intended time (no coordinated omission)', async () => {
    let now = 0;
    const pending: Array<() => void> = [];
    const call = (): Promise<Outcome> => new Promise((resolve) => pending.push(() => resolve({ kind: 'allow' })));
    // 1000/s for 4 ms: four calls intended at 0, 1, 2 and 3 ms.
    const running = runLoad(call, { kind: 'open', rate: 1000, durationMs: 4 }, () => now);
    expect(pending).to.have.length(1); // only the call due at 0 has been sent
    now = 10; // the generator stalls until 10 ms: the three overdue calls go out together at its next tick
    await waitFor(() => pending.length === 4, 'the overdue calls to be sent');
    for (const answer of pending) answer();
    const result = await running;
    expect(result.completed).to.equal(4);
    expect(result.latency).to.include({ p50: 8, max: 10 }); // 10-0, 10-1, 10-2, 10-3 → 7, 8, 9, 10
    expect(result.serviceTime).to.include({ p50: 0, max: 10 }); // three were sent at 10 and answered at 10
  });

  it('slices of an open-loop run merge into the percentiles of all their samples together', async () => {
    let now = 0;
    // Every call is answered `ms` after it was sent (the clock moves only when a call answers).
    const slice = async (ms: number, calls: number, outcome: Outcome) => {
      const call = (): Promise<Outcome> => new Promise((resolve) => setImmediate(() => ((now += ms), resolve(outcome))));
      return runLoad(call, { kind: 'open', rate: 1000, durationMs: calls, keepSamples: true }, () => now);
    };
    // A quiet slice of 1 ms answers and a disturbed one of a single 100 ms answer: the merged
    // percentiles are those of the 100 samples together, wherever the disturbance fell.
    const quiet = await slice(1, 99, { kind: 'allow' });
    const disturbed = await slice(100, 1, { kind: 'deny', detail: '503 slow' });
    expect(quiet.samples).to.have.length(99);
    const merged = mergeSlices([quiet, disturbed]);
    expect(merged).to.include({ completed: 100, allowed: 99, denied: 1, errors: 0, firstDeny: '503 slow' });
    expect(merged.latency).to.include({ count: 100, p99: 1, max: 100 });
  });

  it('refuses to merge runs that kept no samples', async () => {
    const run = await runLoad(() => Promise.resolve({ kind: 'allow' }), { kind: 'open', rate: 1000, durationMs: 1 });
    expect(() => mergeSlices([run])).to.throw(/keepSamples/);
  });
});
