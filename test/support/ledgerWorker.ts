// A separate service process for the ledger concurrency test: connects a RedisLedger, prints READY,
// waits for one line on stdin (so several workers start their burst together), then sends all its
// reservations at once and prints their results as one JSON line.
// Usage: node --import tsx test/support/ledgerWorker.ts '<json WorkerJob>'
import { once } from 'node:events';
import { RedisLedger } from '../../src/ledger/redis/redisLedger.js';
import type { QuotaScope, ReserveResult } from '../../src/ledger/types.js';

export interface WorkerJob {
  url: string;
  keyPrefix: string;
  scope: QuotaScope;
  /** One reservation per entry, all in flight together; repeat a name to model a CSI retry. */
  names: string[];
  sizeKiB: number;
  quotaKiB: number;
}

export interface WorkerResult {
  name: string;
  result: ReserveResult;
}

const job = JSON.parse(process.argv[2] ?? '') as WorkerJob;
const ledger = await RedisLedger.connect({ url: job.url, keyPrefix: job.keyPrefix });
process.stdout.write('READY\n');
await once(process.stdin, 'data');
const results = await Promise.all(
  job.names.map(async (name): Promise<WorkerResult> => ({
    name,
    result: await ledger.reserve(job.scope, name, job.sizeKiB, { kind: 'limited', kib: job.quotaKiB }),
  })),
);
process.stdout.write(`${JSON.stringify(results)}\n`);
await ledger.close();
process.stdin.destroy();
