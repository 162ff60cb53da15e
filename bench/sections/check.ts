// Check alone: each contender (the floors, our service, OPA-Envoy) answers the same load from a
// load-generator process on its own CPU: Check calls over gRPC, or, for a contender that answers
// ext_authz's `http_service`, the same request as that HTTP/1.1 call. Saturation rounds are
// interleaved across contenders (A B C, A B C, …) so a noisy neighbour disturbs all of them alike;
// the median round is reported.
import type { HttpLoadJob, LoadJob, LoadReport } from '../loadgen/worker.js';
import { outcomeCounts, type LoadShape, type OutcomeCounts } from '../loadgen/run.js';
import { extAuthzHttpRequest, type DecisionKind } from '../loadgen/request.js';
import type { LatencySummary } from '../loadgen/stats.js';
import { median } from '../loadgen/stats.js';
import { procUsage } from '../support/procfs.js';
import type { NodeProcess } from '../support/spawn.js';
import type { TailReport } from '../support/tail.js';
import { requestSpec, type BenchWorld } from '../world.js';

/** A running Check server. */
export interface Contender {
  id: string;
  pid: number;
  /** grpc: a grpc-js target; http: the HTTP check server's origin (http://host:port). */
  target: string;
  /** How it is asked (default grpc). */
  transport?: 'grpc' | 'http';
  /** A tenant token it accepts. */
  token: string;
  /** IPC to a bench server that records its own event-loop delay and GC pauses (bench/support/tail.ts). */
  probe?: NodeProcess['request'];
}

export interface Scenario {
  /** e.g. `ours-create`; also the row name in the table. */
  id: string;
  label: string;
  contender: Contender;
  kind: DecisionKind;
}

export interface CheckPlan {
  warmupMs: number;
  saturationMs: number;
  rounds: number;
  /** Calls in flight at saturation. */
  concurrency: number;
  /** HTTP/2 connections the load generator spreads calls over. */
  channels: number;
  /** Offered rates for the latency runs (calls/s). */
  rates: number[];
  rateMs: number;
  /** Runs per rate and contender, in alternating order (A B C, C B A, …). */
  rateRounds: number;
  deadlineMs: number;
}

export interface SaturationRound extends OutcomeCounts {
  throughput: number;
  /** Server CPU (user+system, from /proc) per completed decision, µs. */
  cpuUsPerDecision: number;
  latency: LatencySummary;
  /** Server CPU as a share of the run's wall time (near 1.0 = the server's core was saturated). */
  serverBusy: number;
  /** Load generator CPU as a share of the run's wall time (near 1.0 = it, not the server, was the bottleneck). */
  loadgenBusy: number;
}

export interface RateRun extends OutcomeCounts {
  achieved: number;
  /** From the intended send time (coordinated-omission safe). */
  latency: LatencySummary;
  serviceTime: LatencySummary;
  cpuUsPerDecision: number;
  /** Inside the server during the run, when it can say (ours, the floor). */
  tail?: TailReport;
}

export interface RatePoint {
  rate: number;
  /** Medians over the rounds at this rate. */
  p50: number;
  p99: number;
  p999: number;
  /** Median event-loop delay p99 / p99.9 inside the server (ms), when it reports one. */
  loopDelayP99?: number;
  loopDelayP999?: number;
  runs: RateRun[];
}

export interface ScenarioResult {
  id: string;
  label: string;
  kind: DecisionKind;
  transport: 'grpc' | 'http';
  /** Medians over the saturation rounds. */
  throughput: number;
  cpuUsPerDecision: number;
  rounds: SaturationRound[];
  rates: RatePoint[];
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

const HTTP_CONNECTIONS = 64;

export class CheckRunner {
  private jobs = 0;

  constructor(
    private readonly loadgen: NodeProcess,
    private readonly world: BenchWorld,
    private readonly plan: CheckPlan,
  ) {}

  /** One load job against a scenario, with the server's CPU measured around it. */
  async run(scenario: Scenario, shape: LoadShape): Promise<{ report: LoadReport; cpuUsPerDecision: number; serverBusy: number; tail?: TailReport }> {
    // Each job gets its own volume-name prefix so no create repeats an earlier job's name.
    const { contender } = scenario;
    const request = requestSpec(this.world, scenario.kind, this.jobs++, contender.token);
    // Envoy opens HTTP/1.1 connections as checks overlap; enough that none waits for one.
    const job: LoadJob | HttpLoadJob =
      contender.transport === 'http'
        ? { http: extAuthzHttpRequest(request, contender.target, HTTP_CONNECTIONS, this.plan.deadlineMs), shape }
        : { target: contender.target, channels: this.plan.channels, request, shape, deadlineMs: this.plan.deadlineMs };
    // Loop delay and GC only where latency is the figure (open loop); at saturation the loop is never idle.
    const probe = shape.kind === 'open' ? contender.probe : undefined;
    await probe?.({ op: 'tail-start' });
    const before = procUsage(contender.pid).cpuMs;
    const report = await this.loadgen.request<LoadReport>(job);
    const cpuMs = procUsage(contender.pid).cpuMs - before;
    const tail = (await probe?.<TailReport | null>({ op: 'tail-stop' })) ?? undefined;
    return { report, cpuUsPerDecision: report.completed ? (cpuMs * 1000) / report.completed : NaN, serverBusy: cpuMs / report.elapsedMs, ...(tail && { tail }) };
  }

  async runAll(scenarios: readonly Scenario[], log: (line: string) => void): Promise<ScenarioResult[]> {
    const { plan } = this;
    const rssBefore = new Map(scenarios.map((s) => [s.id, procUsage(s.contender.pid).rssBytes]));
    for (const scenario of scenarios) {
      log(`  warm-up ${scenario.id}`);
      await this.run(scenario, { kind: 'closed', concurrency: plan.concurrency, durationMs: plan.warmupMs });
    }
    const rounds = new Map<string, SaturationRound[]>(scenarios.map((s) => [s.id, []]));
    for (let round = 1; round <= plan.rounds; round++) {
      for (const scenario of scenarios) {
        const { report, cpuUsPerDecision, serverBusy } = await this.run(scenario, { kind: 'closed', concurrency: plan.concurrency, durationMs: plan.saturationMs });
        rounds.get(scenario.id)!.push({
          ...outcomeCounts(report),
          throughput: report.throughput,
          cpuUsPerDecision,
          latency: report.latency,
          serverBusy,
          loadgenBusy: report.loadgenCpuMs / report.elapsedMs,
        });
        log(
          `  round ${round} ${scenario.id}: ${report.throughput.toFixed(0)}/s, ${cpuUsPerDecision.toFixed(0)} µs CPU/decision, ` +
            `server ${(serverBusy * 100).toFixed(0)}% / loadgen ${((report.loadgenCpuMs / report.elapsedMs) * 100).toFixed(0)}% busy, ${report.denied} denied, ${report.errors} errors`,
        );
      }
    }
    const rateRuns = new Map<string, RateRun[]>();
    for (const rate of plan.rates) {
      for (let round = 0; round < plan.rateRounds; round++) {
        for (const scenario of round % 2 === 0 ? scenarios : [...scenarios].reverse()) {
          const { report, cpuUsPerDecision, tail } = await this.run(scenario, { kind: 'open', rate, durationMs: plan.rateMs });
          const key = `${scenario.id}@${rate}`;
          rateRuns.set(key, [
            ...(rateRuns.get(key) ?? []),
            { ...outcomeCounts(report), achieved: report.throughput, latency: report.latency, serviceTime: report.serviceTime ?? report.latency, cpuUsPerDecision, ...(tail && { tail }) },
          ]);
          const inside = tail ? `; loop delay p99 ${tail.loopDelay.p99.toFixed(2)} ms p99.9 ${tail.loopDelay.p999.toFixed(2)} ms, ${tail.gc.count} GC pauses (max ${tail.gc.maxMs.toFixed(2)} ms)` : '';
          log(`  ${rate}/s ${scenario.id}: p50 ${report.latency.p50.toFixed(2)} ms, p99 ${report.latency.p99.toFixed(2)} ms, p99.9 ${report.latency.p999.toFixed(2)} ms${inside}`);
        }
      }
    }
    const ratePoints = (id: string): RatePoint[] =>
      plan.rates.map((rate) => {
        const runs = rateRuns.get(`${id}@${rate}`) ?? [];
        const tails = runs.flatMap((r) => (r.tail ? [r.tail] : []));
        return {
          rate,
          p50: median(runs.map((r) => r.latency.p50)),
          p99: median(runs.map((r) => r.latency.p99)),
          p999: median(runs.map((r) => r.latency.p999)),
          ...(tails.length > 0 && { loopDelayP99: median(tails.map((t) => t.loopDelay.p99)), loopDelayP999: median(tails.map((t) => t.loopDelay.p999)) }),
          runs,
        };
      });
    return scenarios.map((scenario) => {
      const saturation = rounds.get(scenario.id)!;
      return {
        id: scenario.id,
        label: scenario.label,
        kind: scenario.kind,
        transport: scenario.contender.transport ?? 'grpc',
        throughput: median(saturation.map((r) => r.throughput)),
        cpuUsPerDecision: median(saturation.map((r) => r.cpuUsPerDecision)),
        rounds: saturation,
        rates: ratePoints(scenario.id),
        rssBeforeBytes: rssBefore.get(scenario.id)!,
        rssAfterBytes: procUsage(scenario.contender.pid).rssBytes,
      };
    });
  }
}
