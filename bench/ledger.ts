// Ledger bench: reserve / commit latency and throughput of the Redis ledger against a real
// redis-server it starts, and the network round trips one reserve costs (target: one). Round trips
// are counted by a loopback TCP relay between the ledger and Redis: with one call in flight, every
// client write that follows a server reply starts a new round trip.
// Standalone: npx tsx bench/ledger.ts [--operations N] [--concurrency C]
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import type { Ledger, QuotaScope, ReservationId } from '../src/ledger/types.js';
import { startRedis, waitUntilReplicasAcknowledge } from '../test/support/redis.js';
import { LatencyRecorder, type LatencySummary } from './loadgen/stats.js';
import { numberFlag } from './support/flags.js';

export interface LedgerBenchOptions {
  /** Calls per phase. Default 5000. */
  operations?: number;
  /** Calls in flight in the concurrent phase. Default 32. */
  concurrency?: number;
}

export interface LedgerBenchRow {
  phase: string;
  concurrency: number;
  opsPerSecond: number;
  /**
   * This process's CPU (user + system) per call. A call alone pays its own socket write, wake-up
   * and read; calls in flight together share them, which is why serve settles an access-log
   * message's entries side by side.
   */
  cpuMicrosPerOp: number;
  latency: LatencySummary;
}

export interface LedgerBenchResult {
  rows: LedgerBenchRow[];
  /** Network round trips per reserve, counted at the socket. */
  roundTripsPerReserve: number;
  /** Redis commands the client sent per reserve (EVALSHA; EVAL only on a connection's first call). */
  commandsPerReserve: number;
}

const scope: QuotaScope = { systemType: 'powerflex', systemID: 'bench-system', pool: 'bench-pool', tenant: 'bench-tenant' };
const GiB = 1024 * 1024;
const COUNTED_RESERVES = 1000;

/** A TCP relay that counts request bursts: a client write after a server reply (or the first one). */
async function startCountingRelay(targetPort: number): Promise<{ port: number; roundTrips(): number; close(): Promise<void> }> {
  let roundTrips = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    let awaitingReply = false;
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      if (!awaitingReply) roundTrips += 1;
      awaitingReply = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      awaitingReply = false;
      client.write(chunk);
    });
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    roundTrips: () => roundTrips,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

async function scriptCalls(raw: Redis): Promise<number> {
  const stats = await raw.info('commandstats');
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)) calls += Number(match[1]);
  return calls;
}

/** Runs `count` calls of `operation(i)` with `concurrency` in flight; times each call. */
async function phase(name: string, count: number, concurrency: number, operation: (i: number) => Promise<unknown>): Promise<LedgerBenchRow> {
  const recorder = new LatencyRecorder();
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      await operation(i);
      recorder.record(performance.now() - t0);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { phase: name, concurrency, opsPerSecond: count / seconds, cpuMicrosPerOp: (cpu.user + cpu.system) / count, latency: recorder.summary() };
}

/** Reserves `<prefix>-0 … <prefix>-(count-1)` (unlimited quota), keeping the ids for the commit phase. */
async function reserveAll(name: string, ledger: Ledger, prefix: string, count: number, concurrency: number, into: ReservationId[]): Promise<LedgerBenchRow> {
  return phase(name, count, concurrency, async (i) => {
    const result = await ledger.reserve(scope, `${prefix}-${i}`, 8 * GiB, { kind: 'unlimited' });
    if (result.status !== 'approved') throw new Error(`bench reserve was ${result.status}`);
    into[i] = result.reservation;
  });
}

export async function runLedgerBench(options: LedgerBenchOptions = {}): Promise<LedgerBenchResult> {
  const operations = options.operations ?? 5000;
  const concurrency = options.concurrency ?? 32;
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const redis = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] });
    cleanups.push(() => redis.stop());
    const replica = await startRedis({ replicaOf: redis.port });
    cleanups.push(() => replica.stop());
    await waitUntilReplicasAcknowledge(redis, 1);
    const relay = await startCountingRelay(redis.port);
    cleanups.push(() => relay.close());
    const raw = new Redis(redis.url);
    cleanups.push(() => raw.disconnect());
    // Timings go straight to Redis; only the round-trip count goes through the relay (it adds a hop).
    const ledger = await RedisLedger.connect({ url: redis.url });
    cleanups.push(() => ledger.close());
    const counted = await RedisLedger.connect({ port: relay.port, keyPrefix: 'counted:' });
    cleanups.push(() => counted.close());
    // As in Sentinel mode: every write also waits for one replica (WAIT pipelined with the script).
    const replicated = await RedisLedger.connect({ url: redis.url, keyPrefix: 'replicated:', replicaAcks: 1, replicaAckTimeoutMs: 500 });
    cleanups.push(() => replicated.close());

    const rows: LedgerBenchRow[] = [];
    const sequential: ReservationId[] = [];
    rows.push(await reserveAll('reserve', ledger, 'seq', operations, 1, sequential));
    rows.push(await phase('commit', operations, 1, (i) => ledger.commit(sequential[i]!)));
    const concurrent: ReservationId[] = [];
    rows.push(await reserveAll('reserve', ledger, 'par', operations, concurrency, concurrent));
    rows.push(await phase('commit', operations, concurrency, (i) => ledger.commit(concurrent[i]!)));
    const waited: ReservationId[] = [];
    rows.push(await reserveAll('reserve+WAIT', replicated, 'wait', operations, 1, waited));
    rows.push(await phase('commit+WAIT', operations, 1, (i) => replicated.commit(waited[i]!)));

    await counted.reserve(scope, 'warm-up', 1, { kind: 'unlimited' }); // loads the script on this connection
    const tripsBefore = relay.roundTrips();
    const callsBefore = await scriptCalls(raw);
    await reserveAll('counted', counted, 'counted', COUNTED_RESERVES, 1, []);
    const roundTripsPerReserve = (relay.roundTrips() - tripsBefore) / COUNTED_RESERVES;
    // INFO is not a script call, so the delta is the counted ledger's alone.
    const commandsPerReserve = ((await scriptCalls(raw)) - callsBefore) / COUNTED_RESERVES;
    return { rows, roundTripsPerReserve, commandsPerReserve };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

export function formatLedgerBench(result: LedgerBenchResult): string {
  const lines = [
    '| phase        | in flight | ops/s   | client CPU µs/op | p50 ms | p99 ms |',
    '| ------------ | --------- | ------- | ---------------- | ------ | ------ |',
    ...result.rows.map((r) =>
      `| ${r.phase.padEnd(12)} | ${String(r.concurrency).padStart(9)} | ${r.opsPerSecond.toFixed(0).padStart(7)} | ${r.cpuMicrosPerOp.toFixed(0).padStart(16)} | ${r.latency.p50.toFixed(3).padStart(6)} | ${r.latency.p99.toFixed(3).padStart(6)} |`),
    '',
    `round trips per reserve: ${result.roundTripsPerReserve.toFixed(2)}; script calls per reserve: ${result.commandsPerReserve.toFixed(2)}`,
  ];
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runLedgerBench({ operations: numberFlag('--operations'), concurrency: numberFlag('--concurrency') });
  console.log(formatLedgerBench(result));
}
