// A reconciliation pass in a process of its own, so that a test can give it a small V8 heap
// (`--max-old-space-size`): the pass's memory must not grow with the array's volume count.
// Charges the job's ledger rows in a memory ledger, runs one pass against the Storage of the
// workspace (a fake array served by the test process), and prints the saved report as one JSON line.
// Usage: node --max-old-space-size=<MiB> --import tsx test/support/reconcileWorker.ts '<json ReconcileJob>'
import { createAdapters } from '../../src/arrays/registry.js';
import { MemoryLedger } from '../../src/ledger/memory/memoryLedger.js';
import type { QuotaScope } from '../../src/ledger/types.js';
import { createReconciler } from '../../src/reconcile/reconcile.js';
import type { ReconcileMode } from '../../src/reconcile/types.js';
import { DirectoryResources } from '../../src/resources/directory.js';
import { silentLogger } from '../../src/telemetry/log.js';

export interface ReconcileJob {
  resourcesDir: string;
  secretsDir: string;
  ca: string;
  mode: ReconcileMode;
  charged: { scope: QuotaScope; volume: string; sizeKiB: number }[];
  /** Many more charged volumes than an argument can carry: `<prefix><i>` for i < count. */
  chargedSeries?: { scope: QuotaScope; prefix: string; count: number; sizeKiB: number };
}

const job = JSON.parse(process.argv[2] ?? '') as ReconcileJob;
const resources = await DirectoryResources.open(job.resourcesDir, { secretsDir: job.secretsDir, logger: silentLogger });
const adapters = createAdapters({ ca: job.ca });
const ledger = new MemoryLedger();
for (const { scope, volume, sizeKiB } of job.charged) await ledger.recordPresent(scope, volume, sizeKiB, 'charged by the test');
const series = job.chargedSeries;
for (let i = 0; series && i < series.count; i++) await ledger.recordPresent(series.scope, `${series.prefix}${i}`, series.sizeKiB, 'charged by the test');
await createReconciler({ ledger, resources, adapters: adapters.registry, mode: job.mode, settleAfterMs: 60_000, tickMs: 3_600_000 }).runOnce();
process.stdout.write(`${JSON.stringify(await ledger.driftReports())}\n`);
await adapters.close();
resources.close();
