// Turning measurements into what a reader checks: the targets of issue 7 with where each stands,
// and plain-text tables. Pure functions over the results.
import type { ScenarioResult } from './sections/check.js';
import type { EnvoySectionResult } from './sections/envoy.js';
import type { SoakResult } from './sections/soak.js';

/** `inconclusive`: the run was disturbed so much that the figure cannot decide (e.g. off slower than on). */
export type TargetStatus = 'met' | 'missed' | 'inconclusive' | 'not measured';

export interface TargetRow {
  target: string;
  /** The measured figure, in words (e.g. "1.32× floor (412 µs vs 312 µs)"). */
  measured: string;
  status: TargetStatus;
}

/** Figures the targets are judged on; a section that did not run leaves its figure undefined. */
export interface TargetInputs {
  check?: readonly ScenarioResult[];
  /** Full chain (or edge only, when that is all that ran): p99 added by ext_authz at 200 rps, ms. */
  extAuthzAddedP99At200?: { ms: number; chain: string };
  soakRssGrowth?: number;
}

const byId = (check: readonly ScenarioResult[] | undefined, id: string): ScenarioResult | undefined => check?.find((s) => s.id === id);

function cpuRatio(check: readonly ScenarioResult[] | undefined, ours: string, floor: string, limit: number, label: string): TargetRow {
  const target = `${label} decision CPU ≤ ${limit}× the trivial-Check floor`;
  const a = byId(check, ours);
  const b = byId(check, floor);
  if (!a || !b || !Number.isFinite(a.cpuUsPerDecision) || !Number.isFinite(b.cpuUsPerDecision)) return { target, measured: '—', status: 'not measured' };
  const ratio = a.cpuUsPerDecision / b.cpuUsPerDecision;
  return {
    target,
    measured: `${ratio.toFixed(2)}× (${a.cpuUsPerDecision.toFixed(0)} µs vs ${b.cpuUsPerDecision.toFixed(0)} µs per decision)`,
    status: ratio <= limit ? 'met' : 'missed',
  };
}

// Adding an authorization hop cannot make requests faster: an "on" p99 more than a millisecond below
// "off" means the off runs were disturbed, and proves nothing either way.
const addedStatus = (ms: number): TargetStatus => (ms < -1 ? 'inconclusive' : ms <= 1 ? 'met' : 'missed');

export function evaluateTargets(inputs: TargetInputs): TargetRow[] {
  const rows = [
    cpuRatio(inputs.check, 'ours-create', 'floor-create', 1.5, 'Create'),
    cpuRatio(inputs.check, 'ours-read', 'floor-read', 1.15, 'Read'),
  ];
  const ours = byId(inputs.check, 'ours-create');
  const peer = byId(inputs.check, 'opa-envoy-create');
  const throughputTarget = 'Create throughput ≥ OPA-Envoy on its equivalent (same core)';
  if (ours && peer) {
    const ratio = ours.throughput / peer.throughput;
    rows.push({ target: throughputTarget, measured: `${ratio.toFixed(2)}× (${ours.throughput.toFixed(0)}/s vs ${peer.throughput.toFixed(0)}/s)`, status: ratio >= 1 ? 'met' : 'missed' });
  } else rows.push({ target: throughputTarget, measured: '—', status: 'not measured' });
  const added = inputs.extAuthzAddedP99At200;
  rows.push(
    added
      ? { target: 'ext_authz adds ≤ 1 ms at p99, 200 rps', measured: `${added.ms.toFixed(2)} ms (${added.chain})`, status: addedStatus(added.ms) }
      : { target: 'ext_authz adds ≤ 1 ms at p99, 200 rps', measured: '—', status: 'not measured' },
  );
  const growth = inputs.soakRssGrowth;
  rows.push(
    growth === undefined
      ? { target: 'Soak RSS growth < 10%', measured: '—', status: 'not measured' }
      : { target: 'Soak RSS growth < 10%', measured: `${(growth * 100).toFixed(1)}%`, status: growth < 0.1 ? 'met' : 'missed' },
  );
  return rows;
}

/** A Markdown table (pastes into the README as is; reads fine in a terminal). */
export function markdownTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

export const ms = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? '—' : Math.abs(value) < 10 ? value.toFixed(2) : value.toFixed(1));
export const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

export function checkTable(check: readonly ScenarioResult[]): string {
  const floorFor = (s: ScenarioResult) => byId(check, `floor-${s.kind}`);
  return markdownTable(
    ['decision', 'max/s (median)', 'CPU µs/decision', '× floor', ...rateHeaders(check), 'RSS MiB before→after', 'denied/errors'],
    check.map((s) => {
      const floor = floorFor(s);
      const runs = [...s.rounds, ...s.rates.flatMap((r) => r.runs)];
      const denied = runs.reduce((n, r) => n + r.denied, 0);
      const errors = runs.reduce((n, r) => n + r.errors, 0);
      return [
        s.label,
        s.throughput.toFixed(0),
        s.cpuUsPerDecision.toFixed(0),
        floor ? (s.cpuUsPerDecision / floor.cpuUsPerDecision).toFixed(2) : '—',
        ...s.rates.map((r) => `${ms(r.p50)} / ${ms(r.p99)}`),
        `${mib(s.rssBeforeBytes)}→${mib(s.rssAfterBytes)}`,
        `${denied}/${errors}`,
      ];
    }),
  );
}

function rateHeaders(check: readonly ScenarioResult[]): string[] {
  return (check[0]?.rates ?? []).map((r) => `p50/p99 ms @${r.rate}/s`);
}

export function targetsTable(rows: readonly TargetRow[]): string {
  return markdownTable(['target', 'measured', 'status'], rows.map((r) => [r.target, r.measured, r.status]));
}

export function soakTable(soak: SoakResult): string {
  const row = (label: string, sample: SoakResult['start']) => [label, String(sample.decisions), mib(sample.rssBytes), (sample.heapUsedBytes / 2 ** 20).toFixed(1)];
  return [
    markdownTable(['when', 'decisions', 'RSS MiB', 'heap used MiB (after GC)'], [row('start (idle)', soak.start), row('after warm-up segment', soak.baseline), row('end', soak.end)]),
    '',
    `Growth after warm-up: RSS ${(soak.rssGrowth * 100).toFixed(1)}%, heap ${(soak.heapGrowth * 100).toFixed(1)}%; ` +
      `RSS between segments ranged ${mib(Math.min(...soak.samples.map((x) => x.rssBytes)))}–${mib(Math.max(...soak.samples.map((x) => x.rssBytes)))} MiB. ` +
      `${soak.allowed} allowed, ${soak.denied} denied, ${soak.errors} errors; ${((soak.decisions * 1000) / soak.elapsedMs).toFixed(0)} decisions/s on average.`,
  ].join('\n');
}

export function envoyTable(envoy: EnvoySectionResult): string {
  const rates = envoy.paths[0]?.rates.map((r) => r.rate) ?? [];
  const paths = markdownTable(
    ['path', 'wrk ceiling/s', ...rates.map((r) => `p50/p99 ms @${r}/s`), 'non-2xx/errors'],
    envoy.paths.map((p) => [
      p.label,
      p.ceiling.requestsPerSecond.toFixed(0),
      ...p.rates.map((r) => `${ms(r.p50)} / ${ms(r.p99)}`),
      `${p.ceiling.non2xx + p.rates.reduce((n, r) => n + r.runs.reduce((m, run) => m + run.denied, 0), 0)}/${p.ceiling.socketErrors + p.rates.reduce((n, r) => n + r.runs.reduce((m, run) => m + run.errors, 0), 0)}`,
    ]),
  );
  const added = markdownTable(
    ['path', 'offered rate', 'ext_authz adds at p50', 'at p99'],
    envoy.extAuthzAdds.map((a) => [a.chain, `${a.rate}/s`, `${ms(a.p50Ms)} ms`, `${ms(a.p99Ms)} ms`]),
  );
  const components = [...new Set(envoy.paths.flatMap((p) => Object.keys(p.cpuUsPerRequest)))];
  const cpu = markdownTable(
    ['path (CPU µs per request at the wrk ceiling)', ...components, 'total'],
    envoy.paths.map((p) => [
      p.id,
      ...components.map((c) => (p.cpuUsPerRequest[c] === undefined ? '—' : p.cpuUsPerRequest[c]!.toFixed(0))),
      Object.values(p.cpuUsPerRequest).reduce((a, b) => a + b, 0).toFixed(0),
    ]),
  );
  return `${paths}\n\n${added}\n\n${cpu}`;
}
