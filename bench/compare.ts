// `tsx bench/compare.ts <rounds> <read,create> [--http] [--cpu-prof <dir>] <checkout>…`: the decision
// service of several checkouts (`.` = this one; others e.g. `git worktree add --detach /tmp/base main`,
// node_modules linked) side by side in one run with the floor, each on CPU 1, saturation rounds
// interleaved (CheckRunner), asked over gRPC or, with `--http`, as ext_authz's http_service asks
// serve's HTTP check server (against the HTTP floor); `--cpu-prof` profiles each service. So
// a change's CPU per decision is read against its parent under the same load. Each checkout is
// compiled first and run as JavaScript with its own image flags and heap ceiling, as `npm run bench`
// does. Prints CPU µs per decision (median and every round) and throughput. Not part of `npm run bench`.
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/harness/ports.js';
import { parseServeConfig } from '../src/serve/config.js';
import { SIGNING_KEY_ID } from '../src/demo/workspace.js';
import { startRedis } from '../test/support/redis.js';
import { CheckRunner, type Scenario } from './sections/check.js';
import { startArraySide, startShippedServe } from './servers/our-service.js';
import { buildCompiled, pin, startNodeProcess } from './support/spawn.js';
import { tenantToken } from './world.js';

const rounds = Number(process.argv[2] ?? 3);
const kinds = (process.argv[3] ?? 'read,create').split(',') as Array<'read' | 'create'>;
const rest = process.argv.slice(4);
const http = rest[0] === '--http' ? Boolean(rest.shift()) : false;
const profileDir = rest[0] === '--cpu-prof' ? (rest.shift(), rest.shift()) : undefined;
const checkouts = rest;
const stops: Array<() => Promise<void>> = [];
try {
  pin(process.pid, '0');
  for (const checkout of new Set(['.', ...checkouts])) buildCompiled(path.resolve(checkout));
  const array = await startArraySide();
  stops.push(() => array.stop());
  const redis = await startRedis();
  stops.push(() => redis.stop());
  pin(redis.process.child.pid!, '0');
  const { workspace, world } = array;
  const config = parseServeConfig({
    listen: '127.0.0.1:0', resourcesDir: workspace.resourcesDir, secretsDir: workspace.secretsDir, signingKeysDir: workspace.keysDir,
    defaultKid: SIGNING_KEY_ID, redisUrl: redis.url, arrayCaFile: workspace.arrayCaFile, pendingAfterMs: 24 * 3600_000, resolveIntervalMs: 3600_000, drainMs: 1000,
  });
  const token = await tenantToken(world, workspace.signingKeys, workspace.roleName);
  const loadgen = await startNodeProcess('bench/loadgen/worker.ts', [], { cpus: '0' });
  stops.push(() => loadgen.stop());
  const services: Array<{ name: string; pid: number; port?: number; stop(): Promise<void> }> = [];
  for (const checkout of checkouts) {
    // One HTTP port per service: each gets its own config.
    const httpPort = http ? await freePort() : undefined;
    const own = httpPort === undefined ? config : { ...config, httpCheckListen: `127.0.0.1:${httpPort}` };
    const svc = await startShippedServe(own, { cpus: '1', root: path.resolve(checkout), nodeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [] });
    stops.push(() => svc.stop());
    services.push({ name: checkout === '.' ? 'head' : checkout.split('/').pop()!, pid: svc.pid, port: httpPort ?? svc.port, stop: () => svc.stop() });
  }
  const floor = await startNodeProcess(http ? 'bench/http-floor.ts' : 'bench/floor.ts', [], { cpus: '1' });
  stops.push(() => floor.stop());
  const c = (id: string, p: { pid: number; port?: number }) => ({ id, pid: p.pid, target: http ? `http://127.0.0.1:${p.port}` : `127.0.0.1:${p.port}`, ...(http && { transport: 'http' as const }), token });
  const scenarios: Scenario[] = kinds.flatMap((kind) => [
    { id: `floor-${kind}`, label: 'floor', contender: c('floor', floor), kind },
    ...services.map((svc) => ({ id: `${svc.name}-${kind}`, label: svc.name, contender: c(svc.name, svc), kind })),
  ]);
  const runner = new CheckRunner(loadgen, world, { warmupMs: 1500, saturationMs: 3000, rounds, concurrency: 16, channels: 4, rates: [], rateMs: 0, rateRounds: 0, deadlineMs: 5000 });
  const results = await runner.runAll(scenarios, (l) => console.error(l));
  console.log(`load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const r of results) console.log(r.id.padEnd(22), r.cpuUsPerDecision.toFixed(0).padStart(6), 'µs', r.throughput.toFixed(0).padStart(6), '/s', 'rounds', r.rounds.map((x) => x.cpuUsPerDecision.toFixed(0)).join(','));
  // A profile is written when its process exits.
  if (profileDir) for (const svc of services) await svc.stop();
} finally {
  await Promise.all(stops.map((s) => s().catch(() => undefined)));
}
