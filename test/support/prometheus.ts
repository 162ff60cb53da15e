// Prometheus's own parser and linter over a /metrics exposition: `promtool check metrics` (built
// from the Go module proxy by scripts/build-promtool.sh, cached per user), and the samples read
// back from the text it accepted.
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../src/harness/tools.js';

let promtool: string | undefined;

export function promtoolBin(): string {
  promtool ??= execFileSync('bash', [path.join(repoRoot, 'scripts/build-promtool.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  return promtool;
}

/** Runs `promtool check metrics` on the text; rejects with promtool's output when it finds a problem. */
export function checkMetrics(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtoolBin(), ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`promtool check metrics exited ${code}:\n${output}`))));
    child.stdin.end(text);
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of an exposition promtool accepted (comments skipped). */
export function samples(text: string): Sample[] {
  const found: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = SAMPLE.exec(line);
    if (!match || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = value!.replace(/\\(.)/g, '$1');
    found.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return found;
}

/** The one sample of `name` whose labels include `labels`; undefined when none. */
export function sampleValue(all: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = all.filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value));
  if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value;
}
