// Through Envoy: the same HTTPS read a CSI driver makes, sent to the fake array directly, through
// the edge Envoy with ext_authz off and on (our service deciding), and through the full chain
// sidecar → edge with ext_authz off and on (see chain.ts); and a volume create through the full
// chain, off and on (on: the Rego quota check and the ledger's reserve, confirmed from the access log). Fixed-rate runs
// (our open-loop client, coordinated-omission safe) give the latency ext_authz adds at p50/p99;
// wrk gives each configuration's throughput ceiling, the median of the rounds. Every path is warmed
// by discarded wrk runs first (our service starts cold: loadgen/ceiling.ts). Paths alternate their
// order per round (ceilings and fixed-rate runs alike) so drift in the machine's load falls on all
// alike, and each percentile is the best of the rounds.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { AUTHZ_CLUSTER, renderEdgeConfig } from '../../src/envoy/edge.js';
import { storageClusterName, ROUTING_HEADER } from '../../src/envoy/routing.js';
import { DirectoryResources } from '../../src/resources/directory.js';
import { silentLogger } from '../../src/telemetry/log.js';
import { waitForClusterHealth } from '../../src/harness/envoy.js';
import { freePort, waitForPort } from '../../src/harness/ports.js';
import { envoyBin } from '../../src/harness/tools.js';
import { REQUEST_NUMBER, type HttpRequestSpec } from '../loadgen/http-client.js';
import { outcomeCounts, type OutcomeCounts } from '../loadgen/run.js';
import type { LatencySummary } from '../loadgen/stats.js';
import type { HttpLoadJob, LoadReport } from '../loadgen/worker.js';
import { ceilingOfRounds, cpuLogText, cpuUsPerRequest, measuredRun, warmUp, type MeasuredRun, type WarmUpPlan } from '../loadgen/ceiling.js';
import { wrkRequest, type WrkResult } from '../loadgen/wrk.js';
import type { ArraySide } from '../servers/our-service.js';
import { startNodeProcess, startPinned, type NodeProcess, type PinnedProcess } from '../support/spawn.js';
import { startPlainSidecarEnvoy, startRealSidecar } from './chain.js';
import { withExtAuthzDisabled } from './ext-authz-off.js';

export interface EnvoyPlan {
  rates: number[];
  rateMs: number;
  /** Rounds of wrk ceilings, and of fixed-rate runs per rate, every path once a round (alternating order). */
  rounds: number;
  /** Discarded wrk runs against each path before its measured runs (loadgen/ceiling.ts's warmUp). */
  warmUp: WarmUpPlan;
  /** Keep-alive connections of the fixed-rate client. */
  connections: number;
  wrkConnections: number;
  wrkDurationS: number;
  deadlineMs: number;
}

export type PathId = 'direct' | 'edge-off' | 'edge-floor' | 'edge-on' | 'chain-off' | 'chain-on' | 'chain-off-create' | 'chain-on-create';

export interface HttpRatePoint {
  rate: number;
  /**
   * The least-disturbed round's percentile: load from outside the run only ever adds latency, and
   * one stalled round would otherwise decide an on − off difference of a millisecond.
   */
  p50: number;
  p99: number;
  p999: number;
  runs: Array<{ latency: LatencySummary } & OutcomeCounts>;
}

export interface PathResult {
  id: PathId;
  label: string;
  /** The median round's requests/s; requests, non-2xx and socket errors of every round summed. */
  ceiling: WrkResult;
  /** Every round's wrk run, in order. */
  ceilings: WrkResult[];
  /** CPU each process on the path spent per request over the ceiling runs (µs, from /proc). */
  cpuUsPerRequest: Record<string, number>;
  rates: HttpRatePoint[];
}

export interface EnvoySectionResult {
  /** The read every request makes (and the create of the create rows). */
  request: string;
  paths: PathResult[];
  /** on − off at each rate: the edge with the trivial floor Check, the edge with ours, the full chain. */
  extAuthzAdds: Array<{ chain: AddedBy; rate: number; p50Ms: number; p99Ms: number }>;
}

/** A driver read of the pool list: classified as a pass-through read, answered by the array. */
export const READ_PATH = '/api/types/StoragePool/instances/';

export type AddedBy = 'edge, floor Check' | 'edge, ours' | 'full chain, ours' | 'full chain, ours, create';

/** A driver create: a new 8 GiB thin volume in the bench pool. */
export const CREATE_PATH = '/api/types/Volume/instances/';

/** The driver's create body; `{n}` is numbered per request (http-client.ts), `prefix` makes names unique per job. */
export function createBody(world: ArraySide['world'], prefix: string): string {
  return JSON.stringify({
    name: `${prefix}${REQUEST_NUMBER}`,
    protectionDomainId: '6b2ffe6c00000000',
    storagePoolId: world.poolId,
    volumeSizeInKb: String(world.sizeKiB),
    volumeType: 'ThinProvisioned',
  });
}

export interface RunningEnvoy extends PinnedProcess {
  port: number;
}

/** An edge Envoy from `bootstrap`, once it listens and sees its authz cluster healthy. */
export async function startEdge(bootstrap: (listenPort: number, adminPort: number) => object, dir: string, name: string, cpus: string | undefined, concurrency = 1): Promise<RunningEnvoy> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(bootstrap(port, adminPort)));
  const envoy = startPinned(cpus, envoyBin, ['-c', file, '--disable-hot-restart', '--concurrency', String(concurrency), '--log-level', 'warn']);
  try {
    await waitForPort(port);
    // Both edges stream access logs to the service; the on-edge also needs it healthy to send Checks.
    await waitForClusterHealth(adminPort, AUTHZ_CLUSTER, true);
  } catch (error) {
    await envoy.stop();
    throw new Error(`edge Envoy ${name} did not start: ${(error as Error).message}\n${envoy.output().slice(-3000)}`, { cause: error });
  }
  return { ...envoy, port };
}

/** The array's own session token, for the requests that do not pass our service. */
export async function arrayToken(array: ArraySide): Promise<string> {
  const { username, password } = array.credentials;
  // The gateway's certificate is self-signed: trust exactly its CA.
  const agent = new Agent({ connect: { ca: array.gateway.ca } });
  try {
    const response = await request(`${array.gateway.url}/api/login`, {
      headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
      dispatcher: agent,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`array login failed: ${response.statusCode} ${text}`);
    return JSON.parse(text) as string;
  } finally {
    await agent.close();
  }
}

/** Where an edge asks for decisions: a gRPC Check server, and serve's HTTP check server if it has one. */
export interface AuthzTargets {
  target: string;
  httpTarget?: string;
}

/** The storage systems of the bench workspace, and the edge bootstrap for them (authz at `authz`). */
export async function edgeRenderer(array: ArraySide, authzTimeoutMs: number) {
  const { workspace } = array;
  const resources = await DirectoryResources.open(workspace.resourcesDir, { secretsDir: workspace.secretsDir, logger: silentLogger });
  const storage = [...resources.current().storage.values()];
  await resources.close();
  /** `authz.httpTarget`: serve's HTTP check server, asked instead of the gRPC Check (`target` keeps health and the access log). */
  const edgeConfig = (listenPort: number, adminPort: number, authz: AuthzTargets, accessLog: boolean) =>
    renderEdgeConfig({
      listen: { address: '127.0.0.1', port: listenPort },
      tls: { certFile: workspace.edgeCertFile, keyFile: workspace.edgeKeyFile },
      authz: { address: authz.target, ...(authz.httpTarget && { httpAddress: authz.httpTarget }) },
      envoyAdmin: { address: '127.0.0.1', port: adminPort },
      storage,
      caFile: workspace.arrayCaFile,
      authzTimeoutMs,
      accessLog,
    });
  return { storage, edgeConfig };
}

export async function runEnvoySection(
  loadgen: NodeProcess,
  array: ArraySide,
  service: { pid: number; token: string } & AuthzTargets,
  plan: EnvoyPlan,
  cpus: { client?: string; servers?: string },
  log: (line: string) => void,
): Promise<EnvoySectionResult> {
  const { workspace, world, gateway } = array;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-envoy-'));
  const envoys: Array<{ stop(): Promise<void> }> = [];
  try {
    const { storage, edgeConfig } = await edgeRenderer(array, plan.deadlineMs);
    const render = (listenPort: number, adminPort: number) => edgeConfig(listenPort, adminPort, service, true);
    // The floor has no access-log service, so its edge logs nothing (ours gets the log stream).
    const renderFloorEdge = (listenPort: number, adminPort: number, floorTarget: string) => edgeConfig(listenPort, adminPort, { target: floorTarget }, false);
    const on = await startEdge(render, dir, 'edge-on', cpus.servers);
    envoys.push(on);
    const off = await startEdge((port, admin) => withExtAuthzDisabled(render(port, admin)), dir, 'edge-off', cpus.servers);
    envoys.push(off);
    const sidecarOn = await startRealSidecar(array, on.port, cpus.servers);
    envoys.push(sidecarOn);
    const forwarded = `for=csm-authorization;${world.endpoint};${world.systemId},by=csm-authorization;csi-vxflexos`;
    const token = await arrayToken(array);
    // Without ext_authz the client itself must carry what the allow would have set.
    const asArray = { authorization: `Basic ${Buffer.from(`${array.credentials.username}:${token}`).toString('base64')}` };
    // The off sidecar injects the array's own credential where the real one injects the tenant token.
    const sidecarOff = await startPlainSidecarEnvoy(array, off.port, cpus.servers, asArray.authorization);
    envoys.push(sidecarOff);
    const routing = { [ROUTING_HEADER]: storageClusterName(storage[0]!) };
    // The floor behind the edge: the least any grpc-js ext_authz can add (it sets what ours would).
    const floor = await startNodeProcess('bench/floor.ts', [JSON.stringify({ ...asArray, ...routing })], { cpus: cpus.servers });
    envoys.push(floor);
    const viaFloor = await startEdge((port, admin) => renderFloorEdge(port, admin, `127.0.0.1:${floor.port}`), dir, 'edge-floor', cpus.servers);
    envoys.push(viaFloor);
    const base = { method: 'GET', path: READ_PATH, connections: plan.connections, deadlineMs: plan.deadlineMs };
    const create = { ...base, method: 'POST', path: CREATE_PATH };
    const json = { 'content-type': 'application/json' };
    const driverLogin = { authorization: `Basic ${Buffer.from('admin:hellofromkaravi').toString('base64')}` };
    // Every job (warm-up, wrk ceiling or fixed-rate run) creates volumes of its own: no name is ever sent twice.
    let jobs = 0;
    const numbered = (spec: HttpRequestSpec): HttpRequestSpec => (spec.method === 'POST' ? { ...spec, body: createBody(world, `c${world.runId}${jobs++}-`) } : spec);
    // The fake array lives in the runner's process; every edge streams its access log to our service.
    const arrayProcess = { name: 'array (fake gateway, runner process)', pid: process.pid };
    const ourProcess = { name: 'our service', pid: service.pid };
    const edgeOn = { name: 'edge Envoy', pid: on.pid };
    const edgeOff = { name: 'edge Envoy', pid: off.pid };
    const specs: Record<PathId, { label: string; spec: HttpRequestSpec; processes: Array<{ name: string; pid: number }> }> = {
      direct: { label: 'client → array (no Envoy)', spec: { ...base, origin: gateway.url, ca: gateway.ca, headers: asArray }, processes: [arrayProcess] },
      'edge-off': {
        processes: [edgeOff, ourProcess, arrayProcess],
        label: 'client → edge Envoy → array (ext_authz off)',
        spec: { ...base, origin: `https://127.0.0.1:${off.port}`, ca: workspace.edgeCa, headers: { ...asArray, forwarded, ...routing } },
      },
      'edge-floor': {
        processes: [{ name: 'edge Envoy', pid: viaFloor.pid }, { name: 'floor Check', pid: floor.pid }, arrayProcess],
        label: 'client → edge Envoy → floor Check → array (trivial ext_authz)',
        spec: { ...base, origin: `https://127.0.0.1:${viaFloor.port}`, ca: workspace.edgeCa, headers: { authorization: `Bearer ${service.token}`, forwarded } },
      },
      'edge-on': {
        processes: [edgeOn, ourProcess, arrayProcess],
        label: 'client → edge Envoy → ours → array (ext_authz on)',
        spec: { ...base, origin: `https://127.0.0.1:${on.port}`, ca: workspace.edgeCa, headers: { authorization: `Bearer ${service.token}`, forwarded } },
      },
      'chain-off': {
        processes: [...sidecarOff.processes, edgeOff, ourProcess, arrayProcess],
        label: 'driver → sidecar Envoy → edge Envoy → array (ext_authz off)',
        spec: { ...base, origin: sidecarOff.origin, headers: { ...asArray, ...routing } },
      },
      'chain-on': {
        processes: [...sidecarOn.processes, edgeOn, ourProcess, arrayProcess],
        label: 'driver → sidecar (token) → edge Envoy → ours → array',
        // The driver's own login placeholder; the sidecar replaces it with the tenant's token.
        spec: { ...base, origin: sidecarOn.origin, headers: driverLogin },
      },
      'chain-off-create': {
        processes: [...sidecarOff.processes, edgeOff, ourProcess, arrayProcess],
        label: 'create: driver → sidecar Envoy → edge Envoy → array (ext_authz off)',
        spec: { ...create, origin: sidecarOff.origin, headers: { ...asArray, ...routing, ...json } },
      },
      'chain-on-create': {
        processes: [...sidecarOn.processes, edgeOn, ourProcess, arrayProcess],
        label: 'create: driver → sidecar (token) → edge Envoy → ours (Rego + ledger) → array',
        spec: { ...create, origin: sidecarOn.origin, headers: { ...driverLogin, ...json } },
      },
    };
    const ids = Object.keys(specs) as PathId[];

    // Every path is warmed first (our service was just started), then the ceilings run in rounds.
    const wrkRun = (id: PathId, durationS: number) => ({ ...wrkRequest(numbered(specs[id].spec)), connections: plan.wrkConnections, durationS, cpus: cpus.client });
    for (const id of ids) await warmUp(id, (s) => wrkRun(id, s), plan.warmUp, log);
    const ceilingRuns = new Map<PathId, MeasuredRun[]>();
    for (let round = 0; round < plan.rounds; round++) {
      for (const id of round % 2 === 0 ? ids : [...ids].reverse()) {
        const run = await measuredRun(wrkRun(id, plan.wrkDurationS), specs[id].processes);
        ceilingRuns.set(id, [...(ceilingRuns.get(id) ?? []), run]);
        log(`  ceiling ${id}: ${run.result.requestsPerSecond.toFixed(0)}/s, ${run.result.non2xx} non-2xx, ${run.result.socketErrors} socket errors; ${cpuLogText(cpuUsPerRequest([run]))}`);
      }
    }

    // The fixed-rate runs come after every path's ceilings, so every server on every path is warm.
    // The load generator's own HTTP client starts cold (wrk sent the warm-ups): the first job it
    // runs is `direct`, which is in no on − off difference.
    const runs = new Map<string, HttpRatePoint['runs']>();
    for (const rate of plan.rates) {
      for (let round = 0; round < plan.rounds; round++) {
        const order = round % 2 === 0 ? ids : [...ids].reverse();
        for (const id of order) {
          const job: HttpLoadJob = { http: numbered(specs[id].spec), shape: { kind: 'open', rate, durationMs: plan.rateMs } };
          const report = await loadgen.request<LoadReport>(job);
          const key = `${id}@${rate}`;
          runs.set(key, [
            ...(runs.get(key) ?? []),
            { latency: report.latency, ...outcomeCounts(report) },
          ]);
          log(`  ${rate}/s ${id}: p50 ${report.latency.p50.toFixed(2)} ms, p99 ${report.latency.p99.toFixed(2)} ms, ${report.denied} non-2xx, ${report.errors} errors`);
        }
      }
    }
    const point = (id: PathId, rate: number): HttpRatePoint => {
      const list = runs.get(`${id}@${rate}`) ?? [];
      return { rate, p50: Math.min(...list.map((r) => r.latency.p50)), p99: Math.min(...list.map((r) => r.latency.p99)), p999: Math.min(...list.map((r) => r.latency.p999)), runs: list };
    };
    const paths = ids.map((id): PathResult => {
      const rounds = ceilingRuns.get(id) ?? [];
      const results = rounds.map((r) => r.result);
      return { id, label: specs[id].label, ceiling: ceilingOfRounds(results), ceilings: results, cpuUsPerRequest: cpuUsPerRequest(rounds), rates: plan.rates.map((rate) => point(id, rate)) };
    });
    const added = (chain: AddedBy, onId: PathId, offId: PathId) =>
      plan.rates.map((rate) => {
        const [a, b] = [point(onId, rate), point(offId, rate)];
        return { chain, rate, p50Ms: a.p50 - b.p50, p99Ms: a.p99 - b.p99 };
      });
    const extAuthzAdds = [
      ...added('edge, floor Check', 'edge-floor', 'edge-off'),
      ...added('edge, ours', 'edge-on', 'edge-off'),
      ...added('full chain, ours', 'chain-on', 'chain-off'),
      ...added('full chain, ours, create', 'chain-on-create', 'chain-off-create'),
    ];
    return { request: `GET ${READ_PATH}; create rows: POST ${CREATE_PATH} (8 GiB, a new name each)`, paths, extAuthzAdds };
  } finally {
    await Promise.all(envoys.map((envoy) => envoy.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
