// Scale-out: one edge Envoy in front of one `serve` replica versus the same edge in front of two
// replicas (its authz cluster with two endpoints, round robin per Check), both replicas on one Redis
// ledger, in the same run. wrk ceilings through the edge for a read and a create (ext_authz on), off
// and on interleaved (1, 2, 2, 1, …), with the CPU each process spent per request, so the report can
// say which component runs out first: the replicas, Envoy, Redis or the array. Each replica count
// and kind is warmed by discarded wrk runs first (loadgen/ceiling.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUTHZ_CLUSTER, AUTHZ_HTTP_CLUSTER } from '../../src/envoy/edge.js';
import type { EnvoyObject } from '../../src/envoy/parts.js';
import { cpuLogText, cpuUsPerRequest, measuredRun, warmUp, type WarmUpPlan } from '../loadgen/ceiling.js';
import type { WrkOptions, WrkResult } from '../loadgen/wrk.js';
import type { ArraySide, OurService } from '../servers/our-service.js';
import { median } from '../loadgen/stats.js';
import { createBody, CREATE_PATH, edgeRenderer, READ_PATH, startEdge } from './envoy.js';

export interface ScalePlan {
  rounds: number;
  /** Discarded wrk runs per replica count and kind before the measured runs (loadgen/ceiling.ts's warmUp). */
  warmUp: WarmUpPlan;
  wrkConnections: number;
  wrkDurationS: number;
  deadlineMs: number;
  /** Envoy worker threads of the edge (`--concurrency`). */
  edgeConcurrency: number;
}

export interface ScaleRow {
  replicas: 1 | 2;
  kind: 'read' | 'create';
  /** Median over the rounds. */
  requestsPerSecond: number;
  rounds: WrkResult[];
  /** CPU per request by component in the median round (µs); both replicas are summed under `serve replicas`. */
  cpuUsPerRequest: Record<string, number>;
}

export interface ScaleResult {
  rows: ScaleRow[];
  /** 2 replicas / 1 replica, read and create. */
  speedup: { read: number; create: number };
  loadAverage: number[];
  edgeConcurrency: number;
}

type Json = Record<string, unknown>;

/** The edge bootstrap with its cluster `clusterName` balanced over every `targets` address (host:port). */
export function withAuthzEndpoints(bootstrap: EnvoyObject, clusterName: string, targets: readonly string[]): EnvoyObject {
  const copy = structuredClone(bootstrap) as Json;
  const clusters = ((copy['static_resources'] as Json | undefined)?.['clusters'] ?? []) as Json[];
  const cluster = clusters.find((c) => c['name'] === clusterName);
  const assignment = cluster?.['load_assignment'] as { endpoints: Array<{ lb_endpoints: Json[] }> } | undefined;
  const template = assignment?.endpoints[0]?.lb_endpoints[0];
  if (!cluster || !assignment || !template) throw new Error(`no ${clusterName} cluster with an endpoint in the edge bootstrap`);
  assignment.endpoints[0]!.lb_endpoints = targets.map((target) => {
    const at = target.lastIndexOf(':');
    const endpoint = structuredClone(template);
    (endpoint as { endpoint: { address: unknown } }).endpoint.address = { socket_address: { address: target.slice(0, at), port_value: Number(target.slice(at + 1)) } };
    return endpoint;
  });
  return copy;
}

export async function runScaleSection(
  array: ArraySide,
  replicas: readonly [OurService, OurService],
  redisPid: number,
  plan: ScalePlan,
  cpus: { client?: string },
  log: (line: string) => void,
): Promise<ScaleResult> {
  const { world } = array;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-scale-'));
  const edges: Array<{ stop(): Promise<void> }> = [];
  try {
    const { edgeConfig } = await edgeRenderer(array, plan.deadlineMs);
    const edgeFor = async (count: 1 | 2) => {
      const serving = replicas.slice(0, count);
      const httpTargets = serving.flatMap((r) => (r.httpTarget ? [r.httpTarget] : []));
      // Both replicas behind each authz cluster: the gRPC one (health, access log; the Check if gRPC) and the HTTP one if shipped.
      const bootstrap = (port: number, admin: number) => {
        const grpcSpread = withAuthzEndpoints(edgeConfig(port, admin, serving[0]!, true), AUTHZ_CLUSTER, serving.map((r) => r.target));
        return httpTargets.length > 0 ? withAuthzEndpoints(grpcSpread, AUTHZ_HTTP_CLUSTER, httpTargets) : grpcSpread;
      };
      const edge = await startEdge(bootstrap, dir, `edge-${count}`, undefined, plan.edgeConcurrency);
      edges.push(edge);
      return edge;
    };
    const edge = { 1: await edgeFor(1), 2: await edgeFor(2) };
    const forwarded = `for=csm-authorization;${world.endpoint};${world.systemId},by=csm-authorization;csi-vxflexos`;
    const headers = { authorization: `Bearer ${replicas[0].token}`, forwarded };
    let jobs = 0;
    const wrkRun = (count: 1 | 2, kind: 'read' | 'create', durationS: number): WrkOptions => ({
      url: `https://127.0.0.1:${edge[count].port}${kind === 'read' ? READ_PATH : CREATE_PATH}`,
      headers: kind === 'read' ? headers : { ...headers, 'content-type': 'application/json' },
      connections: plan.wrkConnections,
      durationS,
      cpus: cpus.client,
      // Every job (warm-up or ceiling) creates volumes of its own: no name is ever sent twice.
      ...(kind === 'create' && { body: createBody(world, `s${world.runId}${jobs++}-`) }),
    });
    // Every replica count and kind warms before any measured run (the replicas were just started:
    // see warmUp); with two replicas, round robin per Check warms both.
    for (const kind of ['read', 'create'] as const) for (const count of [1, 2] as const) await warmUp(`${count} replica(s), ${kind}`, (s) => wrkRun(count, kind, s), plan.warmUp, log);
    const runs = new Map<string, Array<{ result: WrkResult; cpu: Record<string, number> }>>();
    for (let round = 0; round < plan.rounds; round++) {
      for (const kind of ['read', 'create'] as const) {
        for (const count of round % 2 === 0 ? ([1, 2] as const) : ([2, 1] as const)) {
          const processes = [
            { name: 'edge Envoy', pid: edge[count].pid },
            ...replicas.slice(0, count).map((r) => ({ name: 'serve replicas', pid: r.pid })),
            { name: 'Redis', pid: redisPid },
            { name: 'array (fake gateway, runner process)', pid: process.pid },
          ];
          const run = await measuredRun(wrkRun(count, kind, plan.wrkDurationS), processes);
          const { result } = run;
          const cpu = cpuUsPerRequest([run]);
          const key = `${count}/${kind}`;
          runs.set(key, [...(runs.get(key) ?? []), { result, cpu }]);
          log(`  ${count} replica(s), ${kind}: ${result.requestsPerSecond.toFixed(0)}/s, ${result.non2xx} non-2xx, ${result.socketErrors} socket errors; ${cpuLogText(cpu)}`);
        }
      }
    }
    const rows: ScaleRow[] = [];
    for (const count of [1, 2] as const) {
      for (const kind of ['read', 'create'] as const) {
        const list = runs.get(`${count}/${kind}`) ?? [];
        const rps = median(list.map((r) => r.result.requestsPerSecond));
        const middle = [...list].sort((a, b) => a.result.requestsPerSecond - b.result.requestsPerSecond)[Math.floor(list.length / 2)];
        rows.push({ replicas: count, kind, requestsPerSecond: rps, rounds: list.map((r) => r.result), cpuUsPerRequest: middle?.cpu ?? {} });
      }
    }
    const rate = (count: 1 | 2, kind: 'read' | 'create') => rows.find((r) => r.replicas === count && r.kind === kind)!.requestsPerSecond;
    return { rows, speedup: { read: rate(2, 'read') / rate(1, 'read'), create: rate(2, 'create') / rate(1, 'create') }, loadAverage: os.loadavg(), edgeConcurrency: plan.edgeConcurrency };
  } finally {
    await Promise.all(edges.map((e) => e.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
