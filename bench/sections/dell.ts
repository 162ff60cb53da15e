// Us against Dell's v1 proxy-server (issue 22), as the tenant-facing server in front of the array:
// the same HTTPS requests (the PowerFlex pool read, and a create with a new volume name and PV name
// each time) from the same clients (wrk for the closed-loop ceiling, our open-loop client for
// p50/p99) to
//   Dell: ingress Envoy (TLS) → Dell's proxy-server → its OPA (Dell's Rego) and its Redis → array;
//   ours: edge Envoy (TLS) → ext_authz to our `serve` (its Rego in-process) and its Redis → array.
// Each side's processes are pinned to the servers' core; the clients, both Redis servers and the
// fake array share the other one. The sides alternate (Dell, ours, ours, Dell, …) so drift in the
// machine's load falls on both alike; ceilings are the median of the rounds, percentiles the
// least-disturbed round's (as in the envoy section). Every side and request kind is warmed by
// discarded wrk runs first (loadgen/ceiling.ts), Dell's Go server as well as our Node one.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HttpRequestSpec } from '../loadgen/http-client.js';
import { mergeSlices } from '../loadgen/run.js';
import type { HttpLoadJob, LoadReport } from '../loadgen/worker.js';
import { cpuUsPerRequest, measuredRun, warmUp, type MeasuredRun } from '../loadgen/ceiling.js';
import { median } from '../loadgen/stats.js';
import { wrkRequest, type WrkResult } from '../loadgen/wrk.js';
import { startDellProxyServer } from '../peers/dell-proxy-server.js';
import { startOurService, type ArraySide } from '../servers/our-service.js';
import { pin, type NodeProcess } from '../support/spawn.js';
import { startRedis } from '../../test/support/redis.js';
import { createBody, CREATE_PATH, edgeRenderer, READ_PATH, startEdge, type EnvoyPlan, type HttpRatePoint } from './envoy.js';

/** The envoy section's plan: rates, rounds, open-loop connections, wrk connections and duration. */
export type DellPlan = EnvoyPlan;

/** Length of one slice of a fixed-rate run (see the rate loop). */
const RATE_SLICE_MS = 500;

export type DellSide = 'dell' | 'ours';
export type DellKind = 'read' | 'create';

export interface DellRow {
  side: DellSide;
  kind: DellKind;
  label: string;
  /** Median of the rounds' wrk ceilings (requests/s). */
  ceiling: number;
  ceilings: WrkResult[];
  /** CPU each process of the side spent per request during the ceiling runs (µs, from /proc). */
  cpuUsPerRequest: Record<string, number>;
  rates: HttpRatePoint[];
}

export interface DellSectionResult {
  request: string;
  /** What each side runs, in words (printed with the table). */
  sides: Record<DellSide, string>;
  rows: DellRow[];
}

export const DELL_SIDES: Record<DellSide, string> = {
  dell: "ingress Envoy (TLS, --concurrency 1) → Dell's v1.14.0 proxy-server → its OPA (`opa run --server`, Dell's v1 Rego) + its Redis",
  ours: 'edge Envoy (TLS, --concurrency 1, ext_authz on, access log to serve; unix sockets, as in the pod) → our `serve` (Rego in wasm) + its Redis ledger',
};

export async function runDellSection(loadgen: NodeProcess, array: ArraySide, plan: DellPlan, cpus: { client?: string; servers?: string }, log: (line: string) => void): Promise<DellSectionResult> {
  const { world, workspace } = array;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-dell-section-'));
  const stops: Array<() => Promise<void>> = [];
  try {
    const [dellRedis, ourRedis] = [await startRedis(), await startRedis()];
    stops.push(() => dellRedis.stop(), () => ourRedis.stop());
    for (const redis of [dellRedis, ourRedis]) pin(redis.process.child.pid!, cpus.client);
    const dell = await startDellProxyServer(array, dellRedis.url, cpus.servers);
    stops.push(() => dell.stop());
    // The edge and serve on unix sockets, as in the chart's pod (Dell's ingress reaches its proxy-server over TCP, as in its chart).
    const service = await startOurService(array, { ledger: { kind: 'redis', url: ourRedis.url }, cpus: cpus.servers, podSockets: true });
    stops.push(() => service.stop());
    const { edgeConfig } = await edgeRenderer(array, plan.deadlineMs);
    const edge = await startEdge((port, admin) => edgeConfig(port, admin, service, true), dir, 'edge-vs-dell', cpus.servers);
    stops.push(() => edge.stop());

    // What Dell's sidecar (and ours) sends: two Forwarded lines, the driver's PV name on creates.
    const forwarded = [`for=csm-authorization;${world.endpoint};${world.systemId}`, 'by=csm-authorization;csi-vxflexos'];
    const sides: Record<DellSide, { origin: string; token: string; processes: Array<{ name: string; pid: number }> }> = {
      dell: { origin: dell.origin, token: dell.token, processes: dell.processes },
      ours: { origin: `https://127.0.0.1:${edge.port}`, token: service.token, processes: [{ name: 'edge Envoy', pid: edge.pid }, { name: 'our serve', pid: service.pid }] },
    };
    let jobs = 0;
    const spec = (side: DellSide, kind: DellKind): HttpRequestSpec => {
      const base = { origin: sides[side].origin, ca: workspace.edgeCa, connections: plan.connections, deadlineMs: plan.deadlineMs };
      const headers = { authorization: `Bearer ${sides[side].token}`, forwarded };
      if (kind === 'read') return { ...base, method: 'GET', path: READ_PATH, headers };
      // Every job creates volumes of its own: no volume or PV name is ever sent twice.
      const prefix = `d${world.runId}${side[0]}${jobs++}-`;
      return { ...base, method: 'POST', path: CREATE_PATH, headers: { ...headers, 'content-type': 'application/json', 'x-csi-pv-name': `pv-${prefix}{n}` }, body: createBody(world, prefix) };
    };
    const labels: Record<DellKind, string> = { read: `read (GET ${READ_PATH})`, create: `create (POST ${CREATE_PATH}, 8 GiB)` };
    const order: Array<[DellSide, DellKind]> = [['dell', 'read'], ['ours', 'read'], ['dell', 'create'], ['ours', 'create']];
    const wrkRun = (side: DellSide, kind: DellKind, durationS: number) => ({ ...wrkRequest(spec(side, kind)), connections: plan.wrkConnections, durationS, cpus: cpus.client });
    // Both sides warm before any measured run: our `serve` was just started (see warmUp).
    for (const [side, kind] of order) await warmUp(`${side}-${kind}`, (s) => wrkRun(side, kind, s), plan.warmUp, log);
    const ceilings = new Map<string, MeasuredRun[]>();
    const runs = new Map<string, HttpRatePoint['runs']>();
    for (let round = 0; round < plan.rounds; round++) {
      const sequence = round % 2 === 0 ? order : [...order].reverse();
      for (const [side, kind] of sequence) {
        const key = `${side}-${kind}`;
        const run = await measuredRun(wrkRun(side, kind, plan.wrkDurationS), sides[side].processes);
        ceilings.set(key, [...(ceilings.get(key) ?? []), run]);
        log(`  ceiling ${key}: ${run.result.requestsPerSecond.toFixed(0)}/s, ${run.result.non2xx} non-2xx, ${run.result.socketErrors} socket errors`);
      }
      // After this round's ceilings: both sides are warm for the fixed-rate runs. Each run is made of
      // short slices, the sides taking turns slice by slice (alternating order), merged per side: the
      // machine is shared, and a burst of someone else's work during one side's whole run (2–8 s)
      // set that side's p99 alone (the same build's read p99 at 50/s measured 8.7 ms against Dell's
      // 42 ms in one run, 9.6 against 7.9 in the next). Interleaved, a burst falls on both sides alike.
      const slices = Math.max(1, Math.round(plan.rateMs / RATE_SLICE_MS));
      for (const rate of plan.rates) {
        const sliced = new Map<string, LoadReport[]>();
        for (let slice = 0; slice < slices; slice++) {
          for (const [side, kind] of slice % 2 === 0 ? sequence : [...sequence].reverse()) {
            const job: HttpLoadJob = { http: spec(side, kind), shape: { kind: 'open', rate, durationMs: plan.rateMs / slices, keepSamples: true } };
            const key = `${side}-${kind}`;
            sliced.set(key, [...(sliced.get(key) ?? []), await loadgen.request<LoadReport>(job)]);
          }
        }
        for (const [side, kind] of sequence) {
          const run = mergeSlices(sliced.get(`${side}-${kind}`) ?? []);
          const key = `${side}-${kind}@${rate}`;
          runs.set(key, [...(runs.get(key) ?? []), run]);
          log(`  ${rate}/s ${side}-${kind} (${slices} slices): p50 ${run.latency.p50.toFixed(2)} ms, p99 ${run.latency.p99.toFixed(2)} ms, ${run.denied} non-2xx, ${run.errors} errors${run.firstDeny ? ` (first: ${run.firstDeny})` : ''}`);
        }
      }
    }
    const rows = order.map(([side, kind]): DellRow => {
      const measured = ceilings.get(`${side}-${kind}`) ?? [];
      const results = measured.map((r) => r.result);
      return {
        side,
        kind,
        label: `${side === 'dell' ? "Dell's proxy-server" : 'ours (edge + serve)'}: ${labels[kind]}`,
        ceiling: median(results.map((r) => r.requestsPerSecond)),
        ceilings: results,
        cpuUsPerRequest: cpuUsPerRequest(measured),
        rates: plan.rates.map((rate) => {
          const list = runs.get(`${side}-${kind}@${rate}`) ?? [];
          return { rate, p50: Math.min(...list.map((r) => r.latency.p50)), p99: Math.min(...list.map((r) => r.latency.p99)), p999: Math.min(...list.map((r) => r.latency.p999)), runs: list };
        }),
      };
    });
    return { request: `GET ${READ_PATH}; POST ${CREATE_PATH} (8 GiB, a new volume and PV name each)`, sides: DELL_SIDES, rows };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
