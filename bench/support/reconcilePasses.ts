// The child of bench/reconcile-stall.ts: reconciliation passes in a process of their own (the fake
// array's listing is built in the parent, so its work is not counted as ours), each measured for how
// long it held this event loop. Prints one JSON line: the passes' figures.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createAdapters } from '../../src/arrays/registry.js';
import { RedisLedger } from '../../src/ledger/redis/redisLedger.js';
import { createReconciler } from '../../src/reconcile/reconcile.js';
import { DirectoryResources } from '../../src/resources/directory.js';
import { silentLogger } from '../../src/telemetry/log.js';

export interface PassesJob {
  resourcesDir: string;
  secretsDir: string;
  ca: string;
  redisUrl: string;
  passes: number;
}

export interface PassFigures {
  ms: number;
  /** The longest gap between ticks of a 1 ms timer: the longest a decision could have waited. */
  longestStallMs: number;
  delayP99Ms: number;
  /** The most heap in use at a 1 ms tick during the pass (MiB): the pass runs under the chart's heap ceiling. */
  peakHeapMiB: number;
}

const job = JSON.parse(process.argv[2] ?? '') as PassesJob;
const resources = await DirectoryResources.open(job.resourcesDir, { secretsDir: job.secretsDir, logger: silentLogger });
const adapters = createAdapters({ ca: job.ca });
const ledger = await RedisLedger.connect({ url: job.redisUrl });
// settleAfterMs a day: every unsettled reservation is in flight, so none is repaired away between passes.
const reconciler = createReconciler({ ledger, resources, adapters: adapters.registry, mode: 'repair', settleAfterMs: 24 * 3600_000, tickMs: 3_600_000 });
const figures: PassFigures[] = [];
for (let pass = 0; pass < job.passes; pass++) {
  let last = performance.now();
  let longest = 0;
  let peakHeap = 0;
  const ticks = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 1);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  const [report] = await reconciler.runOnce();
  if (report?.error) throw new Error(`reconciliation failed: ${report.error}`);
  figures.push({ ms: performance.now() - started, longestStallMs: Math.max(longest, performance.now() - last), delayP99Ms: delay.percentile(99) / 1e6, peakHeapMiB: peakHeap / 2 ** 20 });
  delay.disable();
  clearInterval(ticks);
}
process.stdout.write(`${JSON.stringify(figures)}\n`);
await adapters.close();
resources.close();
await ledger.close();
