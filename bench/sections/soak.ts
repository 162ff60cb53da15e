// Soak: a million decisions through one process of our service, its memory sampled between
// segments. Creates, because they take the whole pipeline (JWT, body, Rego in wasm — the component
// with a reported growth issue — and the ledger), with the in-memory ledger and volume names cycling
// through a fixed set: the ledger's own state stays bounded, so any growth is the decision path's.
import type { LoadJob, LoadReport } from '../loadgen/worker.js';
import type { MemoryReport } from '../support/ipc.js';
import { procUsage } from '../support/procfs.js';
import type { NodeProcess } from '../support/spawn.js';
import { requestSpec, type BenchWorld } from '../world.js';

export interface SoakPlan {
  decisions: number;
  /** Equal segments; memory is sampled after each. The first is the warm-up the baseline follows. */
  segments: number;
  concurrency: number;
  channels: number;
  /** Distinct volume names the creates cycle through. */
  volumeCycle: number;
}

export interface MemorySample {
  /** Decisions completed when sampled. */
  decisions: number;
  rssBytes: number;
  /** After a full GC in the server (--expose-gc): what is really retained. */
  heapUsedBytes: number;
  /** V8's committed heap: live objects plus the free pages it keeps (a GC does not hand them back at once). */
  heapTotalBytes: number;
  /** Off the JS heap, as V8 counts it: Buffers, ArrayBuffers (gRPC frames, the wasm policy's memory). */
  externalBytes: number;
  arrayBuffersBytes: number;
}

export interface SoakResult {
  decisions: number;
  allowed: number;
  denied: number;
  errors: number;
  firstDeny?: string;
  firstError?: string;
  elapsedMs: number;
  /** Idle, right after start. */
  start: MemorySample;
  /** After the warm-up segment: JIT code, caches and pools have reached their working size. */
  baseline: MemorySample;
  end: MemorySample;
  samples: MemorySample[];
  /** (end − baseline) / baseline. */
  rssGrowth: number;
  heapGrowth: number;
}

/** `service` must run with --expose-gc and the memory ledger; `token` is one it accepts. */
export async function runSoak(
  loadgen: NodeProcess,
  service: NodeProcess & { target: string; token: string },
  world: BenchWorld,
  plan: SoakPlan,
  log: (line: string) => void,
): Promise<SoakResult> {
  const sample = async (decisions: number): Promise<MemorySample> => {
    const memory = await service.request<MemoryReport>({ gc: true });
    return {
      decisions,
      rssBytes: procUsage(service.pid).rssBytes,
      heapUsedBytes: memory.heapUsedBytes,
      heapTotalBytes: memory.heapTotalBytes,
      externalBytes: memory.externalBytes,
      arrayBuffersBytes: memory.arrayBuffersBytes,
    };
  };
  const request = { ...requestSpec(world, 'create', 0, service.token), volumePrefix: `s${world.runId}`, volumeCycle: plan.volumeCycle };
  const perSegment = Math.ceil(plan.decisions / plan.segments);
  const start = await sample(0);
  const samples: MemorySample[] = [];
  const totals: Pick<SoakResult, 'decisions' | 'allowed' | 'denied' | 'errors' | 'elapsedMs' | 'firstDeny' | 'firstError'> = { decisions: 0, allowed: 0, denied: 0, errors: 0, elapsedMs: 0 };
  for (let segment = 0; segment < plan.segments; segment++) {
    const job: LoadJob = { target: service.target, channels: plan.channels, request, shape: { kind: 'closed', concurrency: plan.concurrency, calls: perSegment }, deadlineMs: 5000 };
    const report = await loadgen.request<LoadReport>(job);
    totals.decisions += report.completed;
    totals.allowed += report.allowed;
    totals.denied += report.denied;
    totals.errors += report.errors;
    totals.elapsedMs += report.elapsedMs;
    totals.firstDeny ??= report.firstDeny;
    totals.firstError ??= report.firstError;
    const memory = await sample(totals.decisions);
    samples.push(memory);
    const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
    log(
      `  soak ${totals.decisions}/${plan.decisions}: ${report.throughput.toFixed(0)}/s, RSS ${mib(memory.rssBytes)} MiB, ` +
        `heap ${mib(memory.heapUsedBytes)} used / ${mib(memory.heapTotalBytes)} committed, external ${mib(memory.externalBytes)} (ArrayBuffers ${mib(memory.arrayBuffersBytes)}) MiB`,
    );
  }
  const baseline = samples[0]!;
  const end = samples.at(-1)!;
  return {
    ...totals,
    start,
    baseline,
    end,
    samples,
    rssGrowth: (end.rssBytes - baseline.rssBytes) / baseline.rssBytes,
    heapGrowth: (end.heapUsedBytes - baseline.heapUsedBytes) / baseline.heapUsedBytes,
  };
}
