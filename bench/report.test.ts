import { expect } from 'chai';
import { evaluateTargets, markdownTable, soakTable, tailTable } from './report.js';
import type { ScenarioResult } from './sections/check.js';
import type { DellKind, DellSectionResult, DellSide } from './sections/dell.js';
import type { EnvoySectionResult, PathId, PathResult } from './sections/envoy.js';
import type { MemorySample, SoakResult } from './sections/soak.js';

const scenario = (id: string, cpuUsPerDecision: number, throughput = 1000): ScenarioResult => ({
  id,
  label: id,
  kind: id.endsWith('read') ? 'read' : 'create',
  transport: id.includes('http') ? 'http' : 'grpc',
  throughput,
  cpuUsPerDecision,
  rounds: [],
  rates: [],
  rssBeforeBytes: 0,
  rssAfterBytes: 0,
});

const path = (id: PathId, requestsPerSecond: number): PathResult => ({
  id,
  label: id,
  ceiling: { requestsPerSecond, requests: requestsPerSecond * 10, non2xx: 0, socketErrors: 0 },
  ceilings: [{ requestsPerSecond, requests: requestsPerSecond * 10, non2xx: 0, socketErrors: 0 }],
  cpuUsPerRequest: {},
  rates: [],
});

const envoy = (readAddedP99: number, createAddedP99: number): EnvoySectionResult => ({
  request: 'GET /api/types/StoragePool/instances/',
  paths: [path('edge-floor', 1000), path('edge-on', 950), path('chain-off', 3000), path('chain-on', 1200), path('chain-off-create', 2000), path('chain-on-create', 800)],
  extAuthzAdds: [
    { chain: 'full chain, ours', rate: 200, p50Ms: 0.3, p99Ms: readAddedP99 },
    { chain: 'full chain, ours, create', rate: 200, p50Ms: 0.5, p99Ms: createAddedP99 },
  ],
});

const dellRow = (side: DellSide, kind: DellKind, ceiling: number, p99: number, denied = 0) => ({
  side,
  kind,
  label: `${side} ${kind}`,
  ceiling,
  ceilings: [{ requestsPerSecond: ceiling, requests: ceiling * 10, non2xx: 0, socketErrors: 0 }],
  cpuUsPerRequest: { server: 1e6 / ceiling },
  rates: [{ rate: 200, p50: p99 / 2, p99, p999: p99 * 2, runs: [{ latency: { count: 400, p50: p99 / 2, p90: p99, p99, p999: p99 * 2, max: p99 * 3, mean: p99 / 2 }, completed: 400, allowed: 400 - denied, denied, errors: 0 }] }],
});

const dellRun = (oursCreateP99: number, dellReadDenied = 0): DellSectionResult => ({
  request: 'GET /api/types/StoragePool/instances/',
  sides: { dell: 'Dell', ours: 'ours' },
  rows: [dellRow('dell', 'read', 900, 9, dellReadDenied), dellRow('ours', 'read', 3000, 5), dellRow('dell', 'create', 600, 10), dellRow('ours', 'create', 1500, oursCreateP99)],
});

const GOALS = [
  'Create decision CPU ≤ 1.5× the trivial-Check floor',
  'Read decision CPU ≤ 1.2× the trivial-Check floor',
  'Edge throughput with ours ≥ 0.9× with the trivial Check (same Envoy)',
  'Full chain: ext_authz adds ≤ 1 ms at p99, 200 rps (read)',
  'Full chain: ext_authz adds ≤ 1 ms at p99, 200 rps (create)',
  "Create throughput ≥ 3× Dell's v1 proxy-server (same core)",
  "Read throughput ≥ 3× Dell's v1 proxy-server (same core)",
  "p99 better than Dell's v1 proxy-server (read)",
  "p99 better than Dell's v1 proxy-server (create)",
  'Full chain ceiling ≥ 0.5× the same chain with ext_authz off (read)',
  'Full chain ceiling ≥ 0.5× the same chain with ext_authz off (create)',
  'Create throughput ≥ OPA-Envoy on its equivalent (same core)',
  'Soak RSS growth < 10%',
];

describe('bench targets', () => {
  it("prints every goal of issue 22's table, judged against its own baseline, saying by how much", () => {
    const rows = evaluateTargets({
      check: [scenario('floor-read', 100), scenario('ours-read', 110), scenario('floor-create', 100), scenario('ours-create', 160, 900), scenario('opa-envoy-create', 600, 1000)],
      envoy: envoy(0.8, 1.6),
      soakRssGrowth: 0.12,
    });
    expect(rows.map((r) => r.target)).to.deep.equal(GOALS);
    expect(rows.map((r) => r.status)).to.deep.equal(['missed', 'met', 'met', 'met', 'missed', 'not measured', 'not measured', 'not measured', 'not measured', 'missed', 'missed', 'missed', 'missed']);
    expect(rows[0]!.measured).to.equal('1.60× (160 µs vs 100 µs per decision)');
    expect(rows[2]!.measured).to.equal('0.95 (950/s vs 1000/s, wrk)');
    expect(rows[4]!.measured).to.equal('+1.60 ms p99, +0.50 ms p50 (full chain, ours, create, on − off)');
    expect(rows[9]!.measured).to.equal('0.40 (1200/s vs 3000/s, wrk)');
    expect(rows[11]!.measured).to.equal('0.90× (900/s vs 1000/s)');
    expect(rows[12]!.measured).to.equal('12.0%');
  });

  it('prices the decision over http_service, as shipped, against the trivial gRPC Check the goal names, and says what it is against the HTTP floor', () => {
    const grpcOnly = [scenario('floor-read', 200), scenario('ours-read', 300), scenario('floor-create', 200), scenario('ours-create', 500)];
    const rows = evaluateTargets({ check: [...grpcOnly, scenario('http-floor-read', 50), scenario('ours-http-read', 180), scenario('http-floor-create', 50), scenario('ours-http-create', 320)] });
    expect(rows.slice(0, 4).map((r) => [r.target, r.status, r.measured])).to.deep.equal([
      ['Create decision CPU ≤ 1.5× the trivial-Check floor', 'missed', '2.50× (500 µs vs 200 µs per decision)'],
      ['Read decision CPU ≤ 1.2× the trivial-Check floor', 'missed', '1.50× (300 µs vs 200 µs per decision)'],
      ['Create (over http_service, as shipped) decision CPU ≤ 1.5× the trivial-Check floor', 'missed', '1.60× (320 µs vs 200 µs per decision); 6.40× the trivial HTTP/1.1 service (50 µs)'],
      ['Read (over http_service, as shipped) decision CPU ≤ 1.2× the trivial-Check floor', 'met', '0.90× (180 µs vs 200 µs per decision); 3.60× the trivial HTTP/1.1 service (50 µs)'],
    ]);
    expect(evaluateTargets({ check: grpcOnly }).map((r) => r.target)).to.deep.equal(GOALS);
  });

  it("says why Dell's proxy-server is not measured, never drops its rows", () => {
    const why = "Dell's v1.14.0 proxy-server is not built: set DELL_KARAVI_SRC=<…>";
    const dell = evaluateTargets({ dellNotMeasured: why }).filter((r) => r.target.includes('Dell'));
    expect(dell).to.have.length(4);
    for (const row of dell) expect(row).to.deep.include({ measured: `not measured: ${why}`, status: 'not measured' });
    expect(evaluateTargets({}).find((r) => r.target.includes('Dell'))!.measured).to.equal('not measured: the dell section did not run');
  });

  it("judges throughput (≥ 3×) and p99 (below Dell's) against Dell's proxy-server, read and create", () => {
    const dell = evaluateTargets({ dell: dellRun(12) }).filter((r) => r.target.includes('Dell'));
    expect(dell.map((r) => [r.status, r.measured])).to.deep.equal([
      ['missed', '2.50× (1500/s vs 600/s, wrk); CPU per request 667 vs 1667 µs (2.50× per core)'],
      ['met', '3.33× (3000/s vs 900/s, wrk); CPU per request 333 vs 1111 µs (3.33× per core)'],
      ['met', '200/s: 5.00 vs 9.00 ms (p50 2.50 vs 4.50)'],
      ['missed', '200/s: 12.00 vs 10.00 ms (p50 6.00 vs 5.00)'],
    ]);
  });

  it("calls a Dell comparison measured on refusals inconclusive", () => {
    const read = evaluateTargets({ dell: dellRun(8, 3) }).find((r) => r.target === "p99 better than Dell's v1 proxy-server (read)");
    expect(read).to.include({ status: 'inconclusive' });
    expect(read!.measured).to.contain('200/s dell read: 3 non-2xx or failed');
  });

  it('calls an ext_authz hop that made requests faster by more than 1 ms a disturbed run, not a success', () => {
    expect(evaluateTargets({ envoy: envoy(-4.2, -0.3) }).slice(3, 5).map((r) => r.status)).to.deep.equal(['inconclusive', 'met']);
  });

  it('calls a ceiling measured on refusals inconclusive, not a ratio', () => {
    const run = envoy(0.5, 0.5);
    run.paths.find((p) => p.id === 'chain-off')!.ceiling.non2xx = 1854;
    const [row] = evaluateTargets({ envoy: run }).filter((r) => r.target.startsWith('Full chain ceiling') && r.target.endsWith('(read)'));
    expect(row).to.include({ status: 'inconclusive' });
    expect(row!.measured).to.contain('chain-off: 1854 non-2xx');
  });

  it('says "not measured" and which section did not run, never "met"', () => {
    const rows = evaluateTargets({});
    expect(rows.map((r) => r.status)).to.deep.equal(Array(GOALS.length).fill('not measured'));
    expect(rows[0]!.measured).to.equal('not measured: the check section did not run');
    expect(rows[3]!.measured).to.equal('not measured: the envoy section did not run');
  });
});

describe('tail table', () => {
  it('shows latency and event-loop delay percentiles and GC per server and rate', () => {
    const tail = { loopDelay: { p50: 1.0, p99: 3.5, p999: 12.25, max: 20, mean: 1.1 }, gc: { count: 20, totalMs: 40, p99Ms: 5, maxMs: 6.5, major: 1 }, elapsedMs: 2000 };
    const result: ScenarioResult = {
      ...scenario('ours-read', 100),
      rates: [{ rate: 200, p50: 1, p99: 4, p999: 15, loopDelayP99: 3.5, loopDelayP999: 12.25, runs: [{ completed: 400, allowed: 400, denied: 0, errors: 0, achieved: 200, latency: { count: 400, p50: 1, p90: 2, p99: 4, p999: 15, max: 16, mean: 1.2 }, serviceTime: { count: 400, p50: 1, p90: 2, p99: 4, p999: 15, max: 16, mean: 1.2 }, cpuUsPerDecision: 100, tail }] }],
    };
    const table = tailTable([result]);
    expect(table).to.include('| ours-read | 200/s   | 4.00 / 15.0');
    expect(table).to.include('3.50 / 12.3 / 20.0');
    expect(table).to.include('10.0/s, 2.00% of time, max 6.50 ms, 1 major');
  });
});

describe('soak table', () => {
  it('breaks RSS into the committed heap and what lives off it, with their ranges between segments', () => {
    const MiB = 2 ** 20;
    const sample = (decisions: number, rss: number, heapTotal: number, external = 6, arrayBuffers = 0.5): MemorySample => ({
      decisions,
      rssBytes: rss * MiB,
      heapUsedBytes: 90 * MiB,
      heapTotalBytes: heapTotal * MiB,
      externalBytes: external * MiB,
      arrayBuffersBytes: arrayBuffers * MiB,
    });
    const samples = [sample(100, 365, 200), sample(200, 863, 700, 9, 2), sample(300, 406, 240)];
    const soak: SoakResult = { decisions: 300, allowed: 300, denied: 0, errors: 0, elapsedMs: 1000, start: sample(0, 237, 100, 5, 0.1), baseline: samples[0]!, end: samples[2]!, samples, rssGrowth: 0.113, heapGrowth: 0 };
    const table = soakTable(soak);
    expect(table).to.include('| heap committed MiB | external MiB | of it ArrayBuffers MiB |');
    expect(table).to.include('| end                   | 300       | 406     | 90.0                     | 240.0              | 6.0          | 0.5                    |');
    expect(table).to.include('between segments RSS ranged 365–863 MiB, committed heap 200–700 MiB.');
  });
});

describe('Markdown tables', () => {
  it('pads columns to their widest cell', () => {
    expect(markdownTable(['a', 'bb'], [['ccc', 'd']])).to.equal('| a   | bb |\n| --- | -- |\n| ccc | d  |');
  });
});
