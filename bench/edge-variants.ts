// `tsx bench/edge-variants.ts [rounds] [variant,…] [--cpu-prof <dir> | --alloc-prof <dir>] [--base <checkout>]`: where the edge Envoy's CPU per request goes.
// Our service as shipped (one process, asked over http_service) behind several edge Envoys, each
// rendered by edge.ts and then differing from it in one setting; wrk reads and creates through each
// in alternating rounds. Prints each edge's CPU per request beside the shipped one's, so a setting's
// cost is read against the same load; `--cpu-prof` profiles serve's CPU, `--alloc-prof` what it
// allocates (bench/support/allocationSampler.ts; each profile summarised at the end). `--base` (another checkout, e.g.
// `git worktree add --detach /tmp/base main`, node_modules linked) also runs every chosen variant
// with that checkout's serve, so a change to serve (settlement, say) is read against its parent in
// the same run. Not part of `npm run bench`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { alternatingRounds, type ScriptPath } from './loadgen/ceiling.js';
import { wrkRequest } from './loadgen/wrk.js';
import { summariseAllocations } from './profile.js';
import { freePort } from '../src/harness/ports.js';
import { createBody, CREATE_PATH, edgeRenderer, READ_PATH, startEdge } from './sections/envoy.js';
import { startOurService } from './servers/our-service.js';
import { typedConfigs } from './support/bootstrap.js';
import { withArraySide } from './support/script.js';
import { buildCompiled, compiledEntry } from './support/spawn.js';
import { startRedis } from '../test/support/redis.js';

type Bootstrap = Record<string, unknown>;
const connectionManager = (bootstrap: Bootstrap) => typedConfigs(bootstrap, 'http_connection_manager.v3.HttpConnectionManager').find((hcm) => hcm['stat_prefix'] === 'edge')!;
/** Each edge: which serve it asks (over unix sockets as the chart's pod does, or loopback TCP) and what differs from edge.ts's bootstrap. */
const variants: Record<string, { service: 'pod' | 'tcp' | 'redis'; edit(bootstrap: Bootstrap): void }> = {
  shipped: { service: 'pod', edit: () => undefined },
  'loopback-tcp': { service: 'tcp', edit: () => undefined },
  // The shipped edge in front of a serve whose ledger is a real redis-server (the others keep it in memory).
  'redis-ledger': { service: 'redis', edit: () => undefined },
  'no-path-filter': {
    service: 'pod',
    edit: (b) => {
      const hcm = connectionManager(b);
      hcm['http_filters'] = (hcm['http_filters'] as Array<{ name: string }>).filter((f) => f.name !== 'storage-authz.path');
    },
  },
  'no-access-log': { service: 'pod', edit: (b) => void delete connectionManager(b)['access_log'] },
};

const { positionals, values } = parseArgs({ allowPositionals: true, options: { 'cpu-prof': { type: 'string' }, 'alloc-prof': { type: 'string' }, base: { type: 'string' } } });
const [roundsArg, chosenArg] = positionals;
const profileDir = values['cpu-prof'];
const allocationDir = values['alloc-prof'] && path.resolve(values['alloc-prof']);
if (profileDir && allocationDir) throw new Error('--cpu-prof and --alloc-prof: one at a time (the sampler would be in the CPU profile)');
const baseRoot = values.base && path.resolve(values.base);
const rounds = Number(roundsArg ?? 3);
const chosen = (chosenArg ?? Object.keys(variants).join(',')).split(',');
for (const name of chosen) if (!(name in variants)) throw new Error(`unknown variant ${name}; known: ${Object.keys(variants).join(', ')}`);
if (!chosen.includes('shipped')) chosen.unshift('shipped');
await withArraySide(async (array, stops) => {
  const { world } = array;
  const { edgeConfig } = await edgeRenderer(array, 5000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-edge-variants-'));
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : allocationDir ? ['--import', compiledEntry('bench/support/allocationSampler.ts')] : [];
  // Each serve is started with this environment: the sampler's output directory.
  if (allocationDir) process.env['BENCH_ALLOCATION_PROFILE_DIR'] = allocationDir;
  const redis = chosen.includes('redis-ledger') ? await startRedis() : undefined;
  if (redis) stops.push(() => redis.stop());
  if (baseRoot) buildCompiled(baseRoot);
  /** One serve per transport and ledger (and checkout): the edges of the variants using it share it. */
  const servesOf = async (root?: string) => ({
    pod: await startOurService(array, { ledger: { kind: 'memory' }, cpus: '1', podSockets: true, nodeArgs, ...(root && { root }) }),
    tcp: await startOurService(array, { ledger: { kind: 'memory' }, cpus: '1', httpCheckListen: `127.0.0.1:${await freePort()}`, nodeArgs, ...(root && { root }) }),
    ...(redis && { redis: await startOurService(array, { ledger: { kind: 'redis', url: redis.url }, cpus: '1', podSockets: true, nodeArgs, ...(root && { root }) }) }),
  });
  const checkouts = [{ suffix: '', services: await servesOf() }, ...(baseRoot ? [{ suffix: ' @base', services: await servesOf(baseRoot) }] : [])];
  for (const { services } of checkouts) for (const service of Object.values(services)) stops.push(() => service.stop());
  const { services } = checkouts[0]!;
  const paths: Record<string, ScriptPath> = {};
  const forwarded = `for=csm-authorization;${world.endpoint};${world.systemId},by=csm-authorization;csi-vxflexos`;
  const read = { path: READ_PATH, headers: { authorization: `Bearer ${services.pod.token}`, forwarded } };
  let jobs = 0;
  const create = () => ({ path: CREATE_PATH, headers: { ...read.headers, 'content-type': 'application/json' }, body: createBody(world, `v${world.runId}${jobs++}-`) });
  for (const name of chosen) for (const { suffix, services: own } of checkouts) {
    const { service, edit } = variants[name]!;
    const serve = own[service]!; // started above for every chosen variant
    const edge = await startEdge((port, admin) => {
      const bootstrap = edgeConfig(port, admin, { target: serve.target, httpTarget: serve.httpTarget }, true) as Bootstrap;
      edit(bootstrap);
      return bootstrap;
    }, dir, `edge-${name}${suffix ? '-base' : ''}`, undefined);
    stops.push(() => edge.stop());
    const processes = [{ name: 'edge Envoy', pid: edge.pid }, { name: 'serve', pid: serve.pid }, { name: 'array', pid: process.pid }];
    for (const [kind, request] of [['read', () => read], ['create', create]] as const) {
      paths[`${name}${suffix} ${kind}`] = { processes, options: (durationS) => ({ ...wrkRequest({ origin: `https://127.0.0.1:${edge.port}`, ...request() }), connections: 16, durationS, cpus: '0' }) };
    }
  }
  await alternatingRounds(paths, { rounds, warmUpS: 4, runS: 8 });
  console.log(`load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  // A profile is written when its process exits.
  if (profileDir || allocationDir) for (const { services: own } of checkouts) for (const service of Object.values(own)) await service.stop();
  if (allocationDir) {
    for (const { suffix, services: own } of checkouts) for (const [kind, service] of Object.entries(own)) {
      const summary = summariseAllocations(JSON.parse(readFileSync(path.join(allocationDir, `alloc.${service.pid}.heapprofile`), 'utf8')));
      console.log(`\nserve ${kind}${suffix}: ${(summary.samples / 2 ** 20).toFixed(0)} MiB allocated`);
      for (const { frame, selfShare } of [...summary.byOwner.slice(0, 6), ...summary.top]) console.log(`  ${(selfShare * 100).toFixed(1).padStart(5)}%  ${frame}`);
    }
  }
});
