// The load generator process (started by bench/main.ts, pinned to its own CPU): runs one load job
// per IPC request and answers with the measurements and its own CPU use (to show it was not the
// bottleneck).
import { serveIpc } from '../support/ipc.js';
import { checkCaller } from './check-client.js';
import { runLoad, type LoadShape, type RunResult } from './run.js';
import type { RequestSpec } from './request.js';

export interface LoadJob {
  /** grpc-js target, e.g. `127.0.0.1:9191` or `unix:/tmp/authz.sock`. */
  target: string;
  channels: number;
  request: RequestSpec;
  /** Discarded run first (JIT, caches, connections). */
  warmup?: LoadShape;
  shape: LoadShape;
  deadlineMs: number;
}

export interface LoadReport extends RunResult {
  /** CPU the load generator itself used during the measured run (ms). */
  loadgenCpuMs: number;
}

async function runJob(job: LoadJob): Promise<LoadReport> {
  const caller = checkCaller(job.target, job.channels, job.request, job.deadlineMs);
  try {
    if (job.warmup) await runLoad(() => caller.call(), job.warmup);
    const cpuBefore = process.cpuUsage();
    const result = await runLoad(() => caller.call(), job.shape);
    const cpu = process.cpuUsage(cpuBefore);
    return { ...result, loadgenCpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    caller.close();
  }
}

serveIpc({}, (body) => runJob(body as LoadJob));
