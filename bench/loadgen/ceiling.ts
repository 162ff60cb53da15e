// wrk ceilings as every HTTP section (envoy, dell, scale) measures them: each path warmed by
// discarded runs first, then measured runs with the CPU each process on the path spent, from /proc.
import { procUsage } from '../support/procfs.js';
import { median } from './stats.js';
import { runWrk, type WrkOptions, type WrkResult } from './wrk.js';

/** A process whose CPU a ceiling run charges to `name` (processes sharing a name are summed). */
export interface PathProcess {
  name: string;
  pid: number;
}

/** How a path is warmed before its measured runs (see warmUp). */
export interface WarmUpPlan {
  /** Length of one discarded wrk run. */
  seconds: number;
  /** Discarded runs repeat until the path has answered this many requests in them… */
  requests: number;
  /** …or this many runs were made, so a path that stays slow cannot stall the bench. */
  maxRuns: number;
}

/**
 * Discarded wrk runs against a path before its measured runs. Our service is a Node process: V8
 * optimises its hot paths after enough calls, so a freshly started service measured cold reports
 * JIT warm-up, not the steady state a production service runs in (edge-on read, same config: 697/s
 * at 932 µs of our CPU per request in the first 8 s wrk run, 1238/s at 438 µs in the second). What
 * warms V8 is a number of requests, not seconds: on a loaded machine one second of a cold path is a
 * few hundred requests (a `--quick` run with one 1 s warm-up still measured edge-on at 1,502 µs of
 * our CPU per read, chain-on later at 867 µs), so runs of `seconds` repeat until `requests` were
 * answered. Every contender gets the same, the Go peers too (they need none; it keeps the
 * procedure the same for all). `options` is called once per run: a create's runs must each carry
 * a name prefix of their own, like every other job, so no volume name repeats.
 */
export async function warmUp(name: string, options: (durationS: number) => WrkOptions, plan: WarmUpPlan, log: (line: string) => void): Promise<void> {
  const totals = { runs: 0, requests: 0, non2xx: 0, socketErrors: 0 };
  while (totals.requests < plan.requests && totals.runs < plan.maxRuns) {
    const result = await runWrk(options(plan.seconds));
    totals.runs++;
    totals.requests += result.requests;
    totals.non2xx += result.non2xx;
    totals.socketErrors += result.socketErrors;
  }
  log(`  warm-up ${name} (discarded): ${totals.requests} requests in ${totals.runs} × ${plan.seconds} s, ${totals.non2xx} non-2xx, ${totals.socketErrors} socket errors`);
}

/** One measured wrk run and the CPU (ms, utime + stime) each named process spent during it. */
export interface MeasuredRun {
  result: WrkResult;
  cpuMs: Record<string, number>;
}

export async function measuredRun(options: WrkOptions, processes: readonly PathProcess[]): Promise<MeasuredRun> {
  const before = processes.map((p) => procUsage(p.pid).cpuMs);
  const result = await runWrk(options);
  const cpuMs: Record<string, number> = {};
  processes.forEach((p, i) => (cpuMs[p.name] = (cpuMs[p.name] ?? 0) + procUsage(p.pid).cpuMs - before[i]!));
  return { result, cpuMs };
}

/** CPU ms per process over some runs, summed, as µs per request over the runs' requests together. */
export function cpuUsPerRequest(runs: readonly MeasuredRun[]): Record<string, number> {
  const requests = runs.reduce((n, run) => n + run.result.requests, 0);
  const total: Record<string, number> = {};
  for (const { cpuMs } of runs) for (const [name, ms] of Object.entries(cpuMs)) total[name] = (total[name] ?? 0) + ms;
  return Object.fromEntries(Object.entries(total).map(([name, ms]) => [name, (ms * 1000) / Math.max(1, requests)]));
}

/** CPU µs per request by process, rounded, for the progress log. */
export function cpuLogText(usPerRequest: Record<string, number>): string {
  return `CPU µs/request ${JSON.stringify(usPerRequest, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`;
}

/**
 * The ceiling of a path measured in rounds: the median round's requests/s (robust to one disturbed
 * round), with the requests, non-2xx and socket errors of every round summed, so a refusal in any
 * round counts against the ceiling.
 */
export function ceilingOfRounds(rounds: readonly WrkResult[]): WrkResult {
  const sum = (field: 'requests' | 'non2xx' | 'socketErrors') => rounds.reduce((n, r) => n + r[field], 0);
  return { requestsPerSecond: median(rounds.map((r) => r.requestsPerSecond)), requests: sum('requests'), non2xx: sum('non2xx'), socketErrors: sum('socketErrors') };
}

/** A path a standalone script measures: wrk's options for one run (a create's must be new each run) and the processes on it. */
export interface ScriptPath {
  options(durationS: number): WrkOptions;
  processes: readonly PathProcess[];
}

/**
 * The standalone scripts' procedure (bench/ext-authz-transport.ts, bench/edge-variants.ts): one
 * discarded run of `warmUpS` per path, then `rounds` rounds of `runS` through every path, the order
 * reversed every other round so drift in the machine's load falls on all alike; a non-2xx or socket
 * error fails. Logs every run, prints each path's median ceiling and CPU per request.
 */
export async function alternatingRounds(paths: Record<string, ScriptPath>, plan: { rounds: number; warmUpS: number; runS: number }): Promise<void> {
  const ids = Object.keys(paths);
  for (const id of ids) await measuredRun(paths[id]!.options(plan.warmUpS), paths[id]!.processes);
  const runs = new Map<string, MeasuredRun[]>(ids.map((id) => [id, []]));
  for (let round = 0; round < plan.rounds; round++) {
    for (const id of round % 2 === 0 ? ids : [...ids].reverse()) {
      const run = await measuredRun(paths[id]!.options(plan.runS), paths[id]!.processes);
      if (run.result.non2xx + run.result.socketErrors > 0) throw new Error(`${id}: ${run.result.non2xx} non-2xx, ${run.result.socketErrors} socket errors`);
      runs.get(id)!.push(run);
      console.error(`  round ${round + 1} ${id}: ${run.result.requestsPerSecond.toFixed(0)}/s; ${cpuLogText(cpuUsPerRequest([run]))}`);
    }
  }
  for (const id of ids) {
    const ceiling = ceilingOfRounds(runs.get(id)!.map((run) => run.result)).requestsPerSecond;
    console.log(`${id.padEnd(28)} ceiling median ${ceiling.toFixed(0)}/s (${runs.get(id)!.map((run) => run.result.requestsPerSecond.toFixed(0)).join(', ')}); ${cpuLogText(cpuUsPerRequest(runs.get(id)!))}`);
  }
}
