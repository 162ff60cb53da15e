// Real Redis for tests, demos and benches: a throwaway redis-server on a free port (no persistence,
// its own temp dir; or with an append-only file that outlives it), and a Sentinel group (one master, replicas, sentinels) for failover tests.
// Readiness is always a log line the server prints, never a pause.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/harness/ports.js';
import { start, waitForOutput, type Started } from '../../src/harness/process.js';
import { redisSentinelBin, redisServerBin } from '../../src/harness/tools.js';
import { waitFor } from '../../src/harness/wait.js';

export interface RunningRedis {
  port: number;
  /** `redis://127.0.0.1:<port>` (with the password, when one was set). */
  url: string;
  process: Started;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: a crash, as far as clients can tell. */
  kill(): Promise<void>;
}

export interface RedisServerOptions {
  /** Reuse a port, e.g. to bring a killed server back where clients expect it. Default: a free port. */
  port?: number;
  password?: string;
  /** Start as a replica of this port on 127.0.0.1. */
  replicaOf?: number;
  /** Extra `redis-server` arguments. */
  args?: string[];
  /**
   * Append-only file in this directory (`appendfsync always`), kept when the server stops or is
   * killed, so a server started again on it has every acknowledged write. Default: no persistence.
   */
  aofDir?: string;
}

const READY = /Ready to accept connections/;

export async function startRedis(options: RedisServerOptions = {}): Promise<RunningRedis> {
  const port = options.port ?? (await freePort());
  const dir = options.aofDir ?? mkdtempSync(path.join(tmpdir(), 'redis-'));
  const persistence = options.aofDir ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir];
  if (options.password) args.push('--requirepass', options.password, '--masterauth', options.password);
  if (options.replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(options.replicaOf));
  args.push(...(options.args ?? []));
  return running(start(redisServerBin, args), port, options.aofDir ? undefined : dir, options.password);
}

async function running(process: Started, port: number, dir: string | undefined, password?: string): Promise<RunningRedis> {
  const cleanup = () => dir && rmSync(dir, { recursive: true, force: true });
  try {
    await waitForOutput(process, READY);
  } catch (error) {
    await process.stop();
    cleanup();
    throw error;
  }
  const auth = password ? `:${encodeURIComponent(password)}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    process,
    async stop() {
      await process.stop();
      cleanup();
    },
    async kill() {
      await process.stop(0);
      cleanup();
    },
  };
}

export interface SentinelGroupOptions {
  /** Default 2, so that after the master dies one replica is promoted and the other follows it. */
  replicas?: number;
  /** Default 1 (quorum 1): a lone sentinel fails over deterministically, without an election race. */
  sentinels?: number;
  password?: string;
  /** Default `mymaster`. */
  name?: string;
  /** Default 1000. */
  downAfterMs?: number;
  /** Default 5000. */
  failoverTimeoutMs?: number;
}

export interface SentinelGroup {
  name: string;
  /** Master first, then replicas, as started (roles change after a failover). */
  servers: RunningRedis[];
  sentinels: { host: string; port: number; process: Started }[];
  master: RunningRedis;
  /** Resolves when the (first) sentinel announces `+switch-master`, e.g. after `master.kill()`. */
  waitForFailover(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startSentinelGroup(options: SentinelGroupOptions = {}): Promise<SentinelGroup> {
  const name = options.name ?? 'mymaster';
  const sentinelCount = options.sentinels ?? 1;
  const quorum = Math.floor(sentinelCount / 2) + 1;
  const servers: RunningRedis[] = [];
  const sentinels: SentinelGroup['sentinels'] = [];
  const dirs: string[] = [];
  const stop = async () => {
    await Promise.all([...sentinels.map((s) => s.process.stop()), ...servers.map((s) => s.stop())]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Redis waits 5 s by default before a diskless sync, hoping more replicas join; not needed here.
    const master = await startRedis({ password: options.password, args: ['--repl-diskless-sync-delay', '0'] });
    servers.push(master);
    const replicas = await Promise.all(
      Array.from({ length: options.replicas ?? 2 }, () => startRedis({ password: options.password, replicaOf: master.port })),
    );
    servers.push(...replicas);
    await Promise.all(replicas.map((replica) => waitForOutput(replica.process, /MASTER <-> REPLICA sync: Finished with success/)));
    await waitUntilReplicasAcknowledge(master, replicas.length, options.password);
    for (let i = 0; i < sentinelCount; i++) {
      const port = await freePort();
      const dir = mkdtempSync(path.join(tmpdir(), 'sentinel-'));
      dirs.push(dir);
      const config = path.join(dir, 'sentinel.conf');
      writeFileSync(config, [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${master.port} ${quorum}`,
        `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5000}`,
        `sentinel parallel-syncs ${name} 1`,
        ...(options.password ? [`sentinel auth-pass ${name} ${options.password}`] : []),
        '',
      ].join('\n'));
      const process = start(redisSentinelBin, [config]);
      sentinels.push({ host: '127.0.0.1', port, process });
      await waitForOutput(process, /Sentinel ID is/);
      await waitUntilReplicasPromotable(port, name, servers.length - 1);
    }
    return {
      name,
      servers,
      sentinels,
      master,
      waitForFailover: (timeoutMs = 30000) => waitForOutput(sentinels[0]!.process, new RegExp(`\\+switch-master ${name} `), timeoutMs),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A sentinel only promotes a replica it has discovered and recently heard an INFO reply from (else
 * a failover answers NOGOODSLAVE), so wait until it reports every replica that way.
 */
async function waitUntilReplicasPromotable(sentinelPort: number, name: string, replicas: number): Promise<void> {
  const sentinel = new Redis({ port: sentinelPort });
  try {
    await waitFor(async () => {
      const reported = (await sentinel.call('SENTINEL', 'REPLICAS', name)) as string[][];
      const promotable = reported.filter((fields) => {
        const field = (key: string) => fields[fields.indexOf(key) + 1];
        return field('master-link-status') === 'ok' && Number(field('info-refresh')) < 5000 && !field('flags')?.includes('down');
      });
      return promotable.length === replicas;
    }, `sentinel ${sentinelPort} to see ${replicas} healthy replicas`, 30000, 100);
  } finally {
    sentinel.disconnect();
  }
}

/**
 * A replica that has finished its initial sync only starts receiving the write stream after its
 * first acknowledgement (up to a second later); until then a failover to it would lose writes. So
 * wait until every replica acknowledges a write.
 */
export async function waitUntilReplicasAcknowledge(master: RunningRedis, replicas: number, password?: string): Promise<void> {
  const client = new Redis({ port: master.port, password });
  try {
    await waitFor(async () => {
      // Two writes that leave nothing behind; WAIT then counts the replicas that have both.
      await client.set('test-support:replication-check', '1');
      await client.del('test-support:replication-check');
      return (await client.wait(replicas, 100)) === replicas;
    }, `${replicas} replicas to acknowledge writes`, 30000, 0);
  } finally {
    client.disconnect();
  }
}
