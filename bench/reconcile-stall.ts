// Reconciliation beside decisions: how long one pass holds the event loop that decisions share, on
// a Redis ledger holding N volumes in one scope: by default N unsettled reservations that the array
// does not have (the state the Check-alone section leaves: nothing confirms its creates); with
// --committed, N committed volumes that the array has too (a large array in steady state). The
// passes run compiled, in a process of their own (bench/support/reconcilePasses.ts); Redis and the
// fake PowerFlex run beside it. Prints, per pass, its duration, the longest gap between the ticks of
// a 1 ms timer (the longest a decision could have waited) and the event-loop delay's p99.
// Standalone: npx tsx bench/reconcile-stall.ts [--volumes N] [--passes P] [--committed]
import { FakePowerFlexGateway } from '../src/fakes/powerflex/gateway.js';
import { start } from '../src/harness/process.js';
import { repoRoot } from '../src/harness/tools.js';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { startRedis } from '../test/support/redis.js';
import { BRONZE, reconcileWorkspace } from '../test/support/reconcileWorkspace.js';
import { numberFlag } from './support/flags.js';
import { shippedNodeArgs } from './servers/our-service.js';
import type { PassesJob, PassFigures } from './support/reconcilePasses.js';
import { buildCompiled, compiledEntry } from './support/spawn.js';

const volumes = numberFlag('--volumes') ?? 100_000;
const passes = numberFlag('--passes') ?? 3;
const committed = process.argv.includes('--committed');

buildCompiled();
const redis = await startRedis();
const gateway = await FakePowerFlexGateway.start();
const workspace = await reconcileWorkspace(gateway, 1 << 30);
const ledger = await RedisLedger.connect({ url: redis.url });
try {
  const scope = { systemType: 'powerflex' as const, systemID: gateway.systemId, pool: BRONZE.name, tenant: 'team-a' };
  const sizeKiB = 8 * 1024 * 1024;
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < volumes) {
        const name = `ta-${next++}`;
        const reserved = await ledger.reserve(scope, name, sizeKiB, { kind: 'unlimited' });
        if (!committed) continue;
        if (reserved.status !== 'approved') throw new Error(`reserve ${name}: ${reserved.status}`);
        await ledger.commit(reserved.reservation);
        gateway.seedVolume(name, BRONZE.id, sizeKiB);
      }
    }),
  );
  const job: PassesJob = { resourcesDir: workspace.resourcesDir, secretsDir: workspace.secretsDir, ca: gateway.ca, redisUrl: redis.url, passes };
  // With serve's flags and heap ceiling from the image and the chart, as the passes run in a pod.
  const child = start(process.execPath, [...shippedNodeArgs(repoRoot), compiledEntry('bench/support/reconcilePasses.ts'), JSON.stringify(job)]);
  const code = await new Promise<number | null>((resolve) => child.child.once('close', resolve));
  if (code !== 0) throw new Error(`the passes failed:\n${child.output().slice(-3000)}`);
  const figures = JSON.parse(child.output().trim().split('\n').at(-1)!) as PassFigures[];
  console.log(committed ? `${volumes} committed volumes in one scope, all on the array` : `${volumes} unsettled reservations in one scope, none on the array`);
  figures.forEach((pass, i) => console.log(`pass ${i + 1}: ${pass.ms.toFixed(0)} ms; longest stall ${pass.longestStallMs.toFixed(1)} ms; event-loop delay p99 ${pass.delayP99Ms.toFixed(1)} ms; heap peak ${pass.peakHeapMiB.toFixed(0)} MiB`));
} finally {
  await ledger.close();
  await gateway.stop();
  await redis.stop();
  await workspace.remove();
}
