// Reconciliation of an array as large as a production PowerFlex system (a system allows ~131k
// volumes): the pass runs in a process whose V8 heap is far smaller than the array's volume
// listing would take read whole and parsed at once, and must still finish with every figure right.
// Not a timed test: it fails by running out of heap (or by wrong figures), not by being slow.
import { expect } from 'chai';
import path from 'node:path';
import { FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { start } from '../src/harness/process.js';
import { repoRoot } from '../src/harness/tools.js';
import type { Workspace } from '../src/demo/workspace.js';
import { BRONZE, reconcileWorkspace } from './support/reconcileWorkspace.js';
import { MAX_LISTED_FINDINGS, type DriftReport } from '../src/reconcile/types.js';
import type { ReconcileJob } from './support/reconcileWorker.js';

/** Volumes no tenant's prefix names (another cluster's): read whole, their listing alone needs more heap than the pass gets. */
const FOREIGN_VOLUMES = 60_000;
/** Volumes a tenant has charged and the array has too: a full array in steady state. */
const CHARGED_VOLUMES = 60_000;
/** The pass's heap ceiling (MiB): what the process needs to start plus a margin, a fraction of the whole listing's ~300 MiB. */
const HEAP_MIB = 96;

/** One pass of `job` in a worker under HEAP_MIB; its saved report. */
async function passUnderSmallHeap(job: ReconcileJob): Promise<DriftReport> {
  const worker = start(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, '--import', 'tsx', path.join(repoRoot, 'test/support/reconcileWorker.ts'), JSON.stringify(job)], { cwd: repoRoot });
  try {
    // 'close': the process has exited and its output has been read to the end.
    const code = await new Promise<number | null>((resolve) => worker.child.once('close', (exitCode: number | null) => resolve(exitCode)));
    expect(code, worker.output().slice(-2000)).to.equal(0);
  } finally {
    await worker.stop();
  }
  const [report] = JSON.parse(worker.output().trim().split('\n').at(-1)!) as DriftReport[];
  expect(report!.error).to.equal(undefined);
  return report!;
}

describe('reconciliation of an array with 60,000 volumes in a small heap', function () {
  let gateway: FakePowerFlexGateway;
  let workspace: Workspace;

  before(async () => {
    gateway = await FakePowerFlexGateway.start();
    for (let i = 0; i < FOREIGN_VOLUMES; i++) gateway.seedVolume(`other-${i}`, BRONZE.id, 8 * GIB_IN_KIB);
    for (const name of ['ta-orphan-1', 'ta-orphan-2', 'ta-orphan-3']) gateway.seedVolume(name, BRONZE.id, 8 * GIB_IN_KIB);
    gateway.seedVolume('ta-grown', BRONZE.id, 16 * GIB_IN_KIB);
    workspace = await reconcileWorkspace(gateway, 1024);
  });

  after(async () => {
    await gateway?.stop();
    await workspace?.remove();
  });

  it('finishes under a 96 MiB heap with every finding counted, the repairable ones repaired, and the first 1000 listed', async () => {
    const scope = { systemType: 'powerflex' as const, systemID: gateway.systemId, pool: BRONZE.name, tenant: 'team-a' };
    const job: ReconcileJob = {
      resourcesDir: workspace.resourcesDir,
      secretsDir: workspace.secretsDir,
      ca: gateway.ca,
      mode: 'repair',
      charged: [
        { scope, volume: 'ta-grown', sizeKiB: 8 * GIB_IN_KIB },
        { scope, volume: 'ta-gone', sizeKiB: 8 * GIB_IN_KIB },
      ],
    };
    const report = await passUnderSmallHeap(job);
    expect(report!.findingsTotal).to.equal(FOREIGN_VOLUMES + 5);
    expect(report!.findings).to.have.length(MAX_LISTED_FINDINGS);
    // The five a tenant owns come first (they are what repair acts on), every one repaired.
    expect(report!.findings.slice(0, 5).map((f) => [f.kind, f.volume, f.repaired])).to.have.deep.members([
      ['unaccounted-on-array', 'ta-orphan-1', true],
      ['unaccounted-on-array', 'ta-orphan-2', true],
      ['unaccounted-on-array', 'ta-orphan-3', true],
      ['size-mismatch', 'ta-grown', true],
      ['missing-on-array', 'ta-gone', true],
    ]);
    const tallies = report!.tally.map(({ kind, tenant, count, unrepaired, ledgerKiB, arrayKiB }) => ({ kind, tenant, count, unrepaired, ledgerKiB, arrayKiB }));
    expect(tallies).to.have.deep.members([
      { kind: 'unaccounted-on-array', tenant: undefined, count: FOREIGN_VOLUMES, unrepaired: FOREIGN_VOLUMES, ledgerKiB: 0, arrayKiB: FOREIGN_VOLUMES * 8 * GIB_IN_KIB },
      { kind: 'unaccounted-on-array', tenant: 'team-a', count: 3, unrepaired: 0, ledgerKiB: 0, arrayKiB: 3 * 8 * GIB_IN_KIB },
      { kind: 'size-mismatch', tenant: 'team-a', count: 1, unrepaired: 0, ledgerKiB: 8 * GIB_IN_KIB, arrayKiB: 16 * GIB_IN_KIB },
      { kind: 'missing-on-array', tenant: 'team-a', count: 1, unrepaired: 0, ledgerKiB: 8 * GIB_IN_KIB, arrayKiB: 0 },
    ]);
  });

  it('finishes under a 96 MiB heap over 60,000 volumes a tenant has charged and the array has, with only the real drift found', async () => {
    const scope = { systemType: 'powerflex' as const, systemID: gateway.systemId, pool: BRONZE.name, tenant: 'team-a' };
    for (let i = 0; i < CHARGED_VOLUMES; i++) gateway.seedVolume(`ta-${i}`, BRONZE.id, 8 * GIB_IN_KIB);
    const report = await passUnderSmallHeap({
      resourcesDir: workspace.resourcesDir,
      secretsDir: workspace.secretsDir,
      ca: gateway.ca,
      mode: 'report',
      charged: [{ scope, volume: 'ta-grown', sizeKiB: 8 * GIB_IN_KIB }],
      chargedSeries: { scope, prefix: 'ta-', count: CHARGED_VOLUMES, sizeKiB: 8 * GIB_IN_KIB },
    });
    // The charged volumes match the array; what differs is the earlier test's (foreign volumes, orphans, the grown one).
    expect(report.findingsTotal).to.equal(FOREIGN_VOLUMES + 4);
    expect(report.findings.slice(0, 4).map((f) => [f.kind, f.volume])).to.have.deep.members([
      ['unaccounted-on-array', 'ta-orphan-1'],
      ['unaccounted-on-array', 'ta-orphan-2'],
      ['unaccounted-on-array', 'ta-orphan-3'],
      ['size-mismatch', 'ta-grown'],
    ]);
  });
});
