// The load generator process (started by bench/main.ts, pinned to its own CPU): runs one load job
// per IPC request and answers with the measurements and its own CPU use (to show whether it was the
// bottleneck). Connections to a target are opened once and kept across jobs, as Envoy keeps them.
import type * as grpc from '@grpc/grpc-js';
import { serveIpc } from '../support/ipc.js';
import { checkCaller, openChannels } from './check-client.js';
import { httpCaller, type HttpRequestSpec } from './http-client.js';
import { runLoad, type LoadShape, type RunResult } from './run.js';
import type { RequestSpec } from './request.js';

/** Check calls straight to a decision server. */
export interface LoadJob {
  /** grpc-js target, e.g. `127.0.0.1:9191` or `unix:/tmp/authz.sock`. */
  target: string;
  channels: number;
  request: RequestSpec;
  shape: LoadShape;
  deadlineMs: number;
}

/** HTTPS requests as a CSI driver makes them, to an Envoy (or the array itself). */
export interface HttpLoadJob {
  http: HttpRequestSpec;
  shape: LoadShape;
}

export interface LoadReport extends RunResult {
  /** CPU the load generator itself used during the run (ms). */
  loadgenCpuMs: number;
}

const channelsByTarget = new Map<string, grpc.Client[]>();

function channels(target: string, count: number): grpc.Client[] {
  const key = `${target}#${count}`;
  let clients = channelsByTarget.get(key);
  if (!clients) {
    clients = openChannels(target, count);
    channelsByTarget.set(key, clients);
  }
  return clients;
}

async function runJob(job: LoadJob | HttpLoadJob): Promise<LoadReport> {
  const call = 'http' in job ? httpCaller(job.http) : checkCaller(channels(job.target, job.channels), job.request, job.deadlineMs);
  const cpuBefore = process.cpuUsage();
  const result = await runLoad(call, job.shape);
  const cpu = process.cpuUsage(cpuBefore);
  return { ...result, loadgenCpuMs: (cpu.user + cpu.system) / 1000 };
}

serveIpc({}, (body) => runJob(body as LoadJob | HttpLoadJob));
