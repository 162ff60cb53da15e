// Redis-only ledger behaviour on real redis-server / redis-sentinel processes: Dell v1 key layout and
// adoption, several service processes reserving at once, Redis down or stalled, Sentinel failover.
import { expect } from 'chai';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { LedgerUnavailableError, type Ledger, type QuotaScope, type ReservationId } from '../src/ledger/types.js';
import { start, waitForOutput, type Started } from '../src/harness/process.js';
import { startRedis, startSentinelGroup, type RunningRedis, type SentinelGroup } from './support/redis.js';
import { rejectionOf } from './support/rejection.js';
import { repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import type { WorkerJob, WorkerResult } from './support/ledgerWorker.js';

const GiB = 1024 * 1024;
const quota100 = { kind: 'limited', kib: 100 * GiB } as const;
const scope: QuotaScope = { systemType: 'powerflex', systemID: '542a2d5f5122210f', pool: 'bronze', tenant: 'tenant-1' };
const dataKey = 'quota:powerflex:542a2d5f5122210f:bronze:tenant-1:data';
const streamKey = 'quota:powerflex:542a2d5f5122210f:bronze:tenant-1:stream';

async function approved(ledger: Ledger, volume: string, sizeKiB: number): Promise<ReservationId> {
  const result = await ledger.reserve(scope, volume, sizeKiB, quota100);
  if (result.status !== 'approved') throw new Error(`expected approved, got ${JSON.stringify(result)}`);
  return result.reservation;
}

/** The result of `operation` once it succeeds (the client has reconnected), within `timeoutMs`. */
async function eventually<T>(operation: () => Promise<T>, timeoutMs = 20000): Promise<T> {
  let result: { value: T } | undefined;
  await waitFor(async () => {
    result = await operation().then((value) => ({ value }), () => undefined);
    return result !== undefined;
  }, 'the ledger to answer again', timeoutMs, 50);
  return result!.value;
}

describe('redis ledger', () => {
  describe('on one redis-server', () => {
    let redis: RunningRedis;
    let raw: Redis;
    let ledger: RedisLedger;

    before(async () => {
      redis = await startRedis();
      raw = new Redis(redis.url);
    });
    after(async () => {
      raw?.disconnect();
      await redis?.stop();
    });
    beforeEach(async () => {
      await raw.flushdb();
      ledger = await RedisLedger.connect({ url: redis.url });
    });
    afterEach(() => ledger.close());

    it('writes Dell v1 keys and audit entries', async () => {
      await ledger.commit(await approved(ledger, 'k8s-0a1b2c', 8 * GiB));
      const hash = await raw.hgetall(dataKey);
      expect(hash).to.include({
        approved_capacity: String(8 * GiB),
        'vol:k8s-0a1b2c:approved': '1',
        'vol:k8s-0a1b2c:capacity': String(8 * GiB),
        'vol:k8s-0a1b2c:created': '1',
      });
      await ledger.commitDelete(((await ledger.beginDelete(scope, 'k8s-0a1b2c')) as { deletion: string }).deletion);
      const entries = (await raw.xrange(streamKey, '-', '+')).map(([, fields]) => fields);
      expect(entries).to.deep.equal([
        ['name', 'k8s-0a1b2c', 'cap', String(8 * GiB), 'status', 'approved'],
        ['name', 'k8s-0a1b2c', 'cap', String(8 * GiB), 'status', 'created'],
        ['name', 'k8s-0a1b2c', 'status', 'deleting'],
        ['name', 'k8s-0a1b2c', 'cap', String(8 * GiB), 'status', 'deleted'],
      ]);
      expect(await raw.hget(dataKey, 'approved_capacity')).to.equal('0');
    });

    it('adopts a Dell v1 database: its volumes are owned, charged and freed once', async () => {
      // As Dell's server leaves them: a live volume, a deleted one (fields kept) and a failed create.
      await raw.hset(dataKey, {
        approved_capacity: String(30 * GiB),
        'vol:live:approved': '1', 'vol:live:capacity': String(20 * GiB), 'vol:live:created': '1',
        'vol:gone:approved': '1', 'vol:gone:capacity': String(5 * GiB), 'vol:gone:created': '1', 'vol:gone:deleted': '1',
        'vol:leaked:approved': '1', 'vol:leaked:capacity': String(10 * GiB),
      });
      expect(await ledger.owns(scope, 'live')).to.equal(true);
      expect(await ledger.owns(scope, 'gone')).to.equal(false);
      expect((await ledger.reserve(scope, 'live', 20 * GiB, quota100)).status).to.equal('already-approved');
      expect((await ledger.beginDelete(scope, 'gone')).status).to.equal('not-owner');
      expect((await ledger.reserve(scope, 'gone', 70 * GiB, quota100)).status).to.equal('approved');
      expect((await ledger.reserve(scope, 'one-more', 1, quota100)).status).to.equal('denied');

      const deletion = await ledger.beginDelete(scope, 'live');
      expect(deletion.status).to.equal('ok');
      await ledger.commitDelete((deletion as { deletion: string }).deletion);
      await ledger.commitDelete((deletion as { deletion: string }).deletion);
      const leaked = await ledger.beginDelete(scope, 'leaked');
      await ledger.commitDelete((leaked as { deletion: string }).deletion);
      expect(await ledger.usage()).to.deep.equal([{ ...scope, usedKiB: 0, reservedKiB: 70 * GiB, volumes: 0 }]);
    });

    it("keeps volume_count right when adopted Dell v1 volumes are deleted through us (they were never counted)", async () => {
      await raw.hset(dataKey, {
        approved_capacity: String(30 * GiB),
        'vol:dell-1:approved': '1', 'vol:dell-1:capacity': String(10 * GiB), 'vol:dell-1:created': '1',
        'vol:dell-2:approved': '1', 'vol:dell-2:capacity': String(20 * GiB), 'vol:dell-2:created': '1',
      });
      await ledger.commit(await approved(ledger, 'ours-1', 8 * GiB));
      await ledger.commit(await approved(ledger, 'ours-2', 8 * GiB));
      for (const volume of ['dell-1', 'dell-2']) {
        await ledger.commitDelete(((await ledger.beginDelete(scope, volume)) as { deletion: string }).deletion);
      }
      expect(await ledger.usage()).to.deep.equal([{ ...scope, usedKiB: 16 * GiB, reservedKiB: 0, volumes: 2 }]);
      await ledger.commitDelete(((await ledger.beginDelete(scope, 'ours-1')) as { deletion: string }).deletion);
      expect(await ledger.usage()).to.deep.equal([{ ...scope, usedKiB: 8 * GiB, reservedKiB: 0, volumes: 1 }]);
    });

    it('lists every volume and every hold of a large scope (5,000 holds: several pages of pending()), each once with its size', async () => {
      const unlimited = { kind: 'unlimited' } as const;
      const count = 5000;
      await Promise.all(Array.from({ length: count }, (_, i) => ledger.reserve(scope, `big-${i}`, i + 1, unlimited)));
      const rows = await ledger.volumes();
      expect(rows).to.have.length(count);
      expect(new Map(rows.map((row) => [row.volume, row.sizeKiB])).get('big-4999')).to.equal(5000);
      expect(rows.reduce((sum, row) => sum + row.sizeKiB, 0)).to.equal((count * (count + 1)) / 2);
      const holds = await ledger.pending(0);
      expect(holds).to.have.length(count);
      expect(holds.reduce((sum, hold) => sum + hold.sizeKiB, 0)).to.equal((count * (count + 1)) / 2);
    });

    it("lists every volume of a scope as large as a whole PowerFlex system's (130,000 committed volumes)", async () => {
      // The scope enters storage-authz:scopes with a reservation; the rest is seeded as committed volumes.
      await approved(ledger, 'first', 1);
      const count = 130_000;
      for (let start = 0; start < count; start += 10_000) {
        const fields: Record<string, string> = {};
        for (let i = start; i < start + 10_000; i++) Object.assign(fields, { [`vol:pf-${i}:approved`]: '1', [`vol:pf-${i}:capacity`]: '8', [`vol:pf-${i}:created`]: '1' });
        await raw.hset(dataKey, fields);
      }
      const rows = await ledger.volumes('tenant-1');
      expect(rows).to.have.length(count + 1);
      expect(rows.filter((row) => row.state === 'committed').reduce((sum, row) => sum + row.sizeKiB, 0)).to.equal(8 * count);
    });

    it('writes the reason of every repair to the scope audit stream', async () => {
      await ledger.recordPresent(scope, 'found', 8 * GiB, 'on the array with the tenant prefix, not charged');
      await ledger.recordAbsent(scope, 'found', 'in the ledger, not on the array');
      const entries = (await raw.xrange(streamKey, '-', '+')).map(([, fields]) => fields);
      expect(entries).to.deep.equal([
        ['name', 'found', 'cap', String(8 * GiB), 'status', 'created', 'reason', 'on the array with the tenant prefix, not charged'],
        ['name', 'found', 'cap', String(8 * GiB), 'status', 'deleted', 'reason', 'in the ledger, not on the array'],
      ]);
    });

    it('lists adopted Dell v1 volumes once the scope is in the scope set: a leaked create as reserved, deleted ones not at all', async () => {
      await raw.hset(dataKey, {
        approved_capacity: String(36 * GiB),
        'vol:live:approved': '1', 'vol:live:capacity': String(20 * GiB), 'vol:live:created': '1',
        'vol:gone:approved': '1', 'vol:gone:capacity': String(5 * GiB), 'vol:gone:created': '1', 'vol:gone:deleted': '1',
        'vol:leaked:approved': '1', 'vol:leaked:capacity': String(10 * GiB),
        'vol:k8s:01:approved': '1', 'vol:k8s:01:capacity': String(6 * GiB), 'vol:k8s:01:created': '1', 'vol:k8s:01:deleting': '1',
      });
      // As in usage(): a v1 scope is found through storage-authz:scopes, which v1 never wrote.
      expect(await ledger.volumes()).to.deep.equal([]);
      await approved(ledger, 'new', GiB);
      expect(await ledger.volumes('tenant-1')).to.have.deep.members([
        { ...scope, volume: 'live', sizeKiB: 20 * GiB, state: 'committed' },
        { ...scope, volume: 'leaked', sizeKiB: 10 * GiB, state: 'reserved' },
        { ...scope, volume: 'k8s:01', sizeKiB: 6 * GiB, state: 'deleting' },
        { ...scope, volume: 'new', sizeKiB: GiB, state: 'reserved' },
      ]);
    });

    it('a reservation made through one replica is committed through another (ids survive restarts)', async () => {
      const reservation = await approved(ledger, 'vol-a', GiB);
      await ledger.close();
      const otherReplica = await RedisLedger.connect({ url: redis.url });
      try {
        await otherReplica.commit(reservation);
        expect(await otherReplica.owns(scope, 'vol-a')).to.equal(true);
      } finally {
        await otherReplica.close();
      }
    });

    it('reloads its scripts when Redis has lost them (NOSCRIPT), e.g. after a restart or SCRIPT FLUSH', async () => {
      await approved(ledger, 'vol-a', GiB);
      await raw.script('FLUSH');
      const reservation = await approved(ledger, 'vol-b', GiB);
      await raw.script('FLUSH');
      await ledger.commit(reservation);
      expect(await ledger.owns(scope, 'vol-b')).to.equal(true);
    });

    it('reads the password from a file', async () => {
      const secured = await startRedis({ password: 's3cret-pass' });
      const dir = mkdtempSync(path.join(tmpdir(), 'ledger-pw-'));
      try {
        writeFileSync(path.join(dir, 'password'), 's3cret-pass\n');
        const withFile = await RedisLedger.connect({ port: secured.port, passwordFile: path.join(dir, 'password') });
        expect((await withFile.reserve(scope, 'v', 1, quota100)).status).to.equal('approved');
        await withFile.close();
        writeFileSync(path.join(dir, 'wrong'), 'not-it\n');
        const refused = await rejectionOf(RedisLedger.connect({ port: secured.port, passwordFile: path.join(dir, 'wrong'), connectTimeoutMs: 1000 }));
        expect(refused).to.be.instanceOf(LedgerUnavailableError);
        expect(String((refused as Error).message)).to.not.include('not-it');
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await secured.stop();
      }
    });

    describe('two service processes reserving at once', () => {
      const workers: Started[] = [];
      afterEach(async () => {
        await Promise.all(workers.splice(0).map((worker) => worker.stop()));
      });

      /** Starts one worker per job, releases them together, returns every result. */
      async function burst(jobs: WorkerJob[]): Promise<WorkerResult[]> {
        for (const job of jobs) {
          workers.push(start(process.execPath, ['--import', 'tsx', 'test/support/ledgerWorker.ts', JSON.stringify(job)], {
            cwd: repoRoot,
            stdio: ['pipe', 'pipe', 'pipe'],
          }));
        }
        await Promise.all(workers.map((worker) => waitForOutput(worker, /^READY$/m)));
        for (const worker of workers) worker.child.stdin!.write('go\n');
        await Promise.all(workers.map((worker) => waitForOutput(worker, /^\[.*\]$/m)));
        return workers.flatMap((worker) => JSON.parse(/^\[.*\]$/m.exec(worker.output())![0]) as WorkerResult[]);
      }

      const job = (names: string[]): WorkerJob => ({ url: redis.url, keyPrefix: '', scope, names, sizeKiB: 10 * GiB, quotaKiB: 100 * GiB });
      const names = (prefix: string) => Array.from({ length: 50 }, (_, i) => `${prefix}-${i}`);

      it('2 × 50 reservations of 10 GiB against 100 GiB approve exactly 10', async () => {
        const results = await burst([job(names('a')), job(names('b'))]);
        expect(results).to.have.length(100);
        expect(results.filter((r) => r.result.status === 'approved')).to.have.length(10);
        expect(results.filter((r) => r.result.status === 'denied')).to.have.length(90);
        expect(await ledger.usage()).to.deep.equal([{ ...scope, usedKiB: 0, reservedKiB: 100 * GiB, volumes: 0 }]);
      });

      it('with every name retried in both processes, approves exactly the 10 distinct names that fit', async () => {
        const retried = [...names('vol'), ...names('vol')];
        const results = await burst([job(retried), job(retried)]);
        const approvedNames = results.filter((r) => r.result.status === 'approved').map((r) => r.name);
        expect(new Set(approvedNames).size).to.equal(10);
        expect(approvedNames).to.have.length(10);
        for (const name of approvedNames) {
          const ids = results.filter((r) => r.name === name).map((r) => (r.result as { reservation?: string }).reservation);
          // Every attempt at an approved name got the one reservation (approved once, already-approved after).
          expect(new Set(ids).size, name).to.equal(1);
          expect(ids[0], name).to.be.a('string');
        }
        for (const r of results.filter((r) => !approvedNames.includes(r.name))) expect(r.result.status).to.equal('denied');
        expect(await ledger.usage()).to.deep.equal([{ ...scope, usedKiB: 0, reservedKiB: 100 * GiB, volumes: 0 }]);
        expect((await ledger.pending(0)).map((p) => p.volume).sort()).to.deep.equal([...approvedNames].sort());
      });
    });

    describe('socket writes', () => {
      /** Redis' count of read events on its client sockets (INFO stats); the INFO asking for it is one. */
      const readsProcessed = async () => Number(/total_reads_processed:(\d+)/.exec(await raw.info('stats'))![1]);

      it('sends the commands issued together in one write, and a command issued after a reply in a write of its own', async () => {
        await ledger.commit(await approved(ledger, 'k8s-warm', GiB)); // the scripts are loaded
        const before = await readsProcessed();
        const reservations = await Promise.all(Array.from({ length: 20 }, (_, i) => approved(ledger, `k8s-${i}`, GiB)));
        const afterBurst = await readsProcessed();
        // One read for the twenty reserves and one for INFO; a write per command would be about twenty.
        expect(afterBurst - before).to.be.at.most(3);
        await ledger.commit(reservations[0]!);
        await ledger.commit(reservations[1]!);
        expect(await readsProcessed()).to.equal(afterBurst + 3);
        expect(await ledger.usage()).to.deep.equal([{ ...scope, usedKiB: 3 * GiB, reservedKiB: 18 * GiB, volumes: 3 }]);
      });

      it('sends the commands of separate callbacks of one event-loop turn (the Checks it read) in one write', async () => {
        await ledger.commit(await approved(ledger, 'k8s-warm', GiB)); // the scripts are loaded
        const before = await readsProcessed();
        // Twenty callbacks of one check phase, each issuing its reserve, as the poll phase runs one per request read.
        const reserved = await Promise.all(
          Array.from({ length: 20 }, (_, i) => new Promise<ReservationId>((resolve, reject) => setImmediate(() => approved(ledger, `k8s-turn-${i}`, GiB).then(resolve, reject)))),
        );
        expect(await readsProcessed() - before).to.be.at.most(3);
        expect(new Set(reserved).size).to.equal(20);
      });
    });
  });

  describe('when Redis fails', () => {
    let redis: RunningRedis | undefined;
    let ledger: RedisLedger | undefined;

    afterEach(async () => {
      if (redis?.process.child.signalCode === 'SIGSTOP') redis.process.child.kill('SIGCONT');
      await ledger?.close();
      await redis?.stop();
    });

    it('a killed Redis gives LedgerUnavailableError, queues nothing, and calls recover when it returns', async () => {
      redis = await startRedis();
      ledger = await RedisLedger.connect({ url: redis.url, commandTimeoutMs: 500 });
      await ledger.commit(await approved(ledger, 'before', GiB));
      const port = redis.port;
      await redis.kill();

      for (const call of [
        () => ledger!.reserve(scope, 'during', GiB, quota100),
        () => ledger!.owns(scope, 'before'),
        () => ledger!.usage(),
        () => ledger!.volumes(),
        () => ledger!.pending(0),
      ]) {
        const error = await rejectionOf(call());
        expect(error).to.be.instanceOf(LedgerUnavailableError);
        expect((error as Error).message).to.equal('quota store unavailable');
      }

      redis = await startRedis({ port });
      const recovered = await eventually(() => ledger!.reserve(scope, 'after', GiB, quota100));
      expect(recovered.status).to.equal('approved');
      // The restarted server kept no data (no persistence): only "after" is there, "during" was never queued.
      expect(await ledger.usage()).to.deep.equal([{ ...scope, usedKiB: 0, reservedKiB: GiB, volumes: 0 }]);
    });

    it('a stalled Redis times out with LedgerUnavailableError and serves again once it resumes', async () => {
      redis = await startRedis();
      ledger = await RedisLedger.connect({ url: redis.url, commandTimeoutMs: 300 });
      await ledger.commit(await approved(ledger, 'before', GiB));
      redis.process.child.kill('SIGSTOP');
      const error = await rejectionOf(ledger.owns(scope, 'before'));
      expect(error).to.be.instanceOf(LedgerUnavailableError);
      redis.process.child.kill('SIGCONT');
      expect(await eventually(() => ledger!.owns(scope, 'before'))).to.equal(true);
    });
  });

  describe('with Sentinel', () => {
    let group: SentinelGroup;
    let ledger: RedisLedger | undefined;
    const password = 'sentinel-test-pass';

    beforeEach(async () => {
      group = await startSentinelGroup({ password });
      ledger = await RedisLedger.connect({
        sentinels: group.sentinels.map(({ host, port }) => ({ host, port })),
        name: group.name,
        password,
        commandTimeoutMs: 1000,
      });
    });
    afterEach(async () => {
      await ledger?.close();
      await group?.stop();
    });

    async function commitVolumes(count: number): Promise<string[]> {
      const volumes = Array.from({ length: count }, (_, i) => `committed-${i}`);
      for (const volume of volumes) await ledger!.commit(await approved(ledger!, volume, 10 * GiB));
      return volumes;
    }

    async function currentMasterPort(): Promise<number> {
      const sentinel = new Redis({ port: group.sentinels[0]!.port });
      try {
        const [, port] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', group.name)) as string[];
        return Number(port);
      } finally {
        sentinel.disconnect();
      }
    }

    it('after the master is killed, calls resume on the new master and no committed volume is lost', async () => {
      const committed = await commitVolumes(5);
      await group.master.kill();
      await group.waitForFailover();

      const afterFailover = await eventually(() => ledger!.reserve(scope, 'after-failover', 50 * GiB, quota100));
      expect(afterFailover.status).to.equal('approved');
      for (const volume of committed) expect(await ledger!.owns(scope, volume), volume).to.equal(true);
      expect(await ledger!.usage()).to.deep.equal([{ ...scope, usedKiB: 50 * GiB, reservedKiB: 50 * GiB, volumes: 5 }]);
      expect((await ledger!.reserve(scope, 'over', 1, quota100)).status).to.equal('denied');
    });

    it('a frozen (SIGSTOP) master: after repeated timeouts the client asks the sentinels and writes resume on the new master', async function () {
      const committed = await commitVolumes(2);
      const downAfterMs = 1000;
      const frozen = group.master.process.child;
      const stoppedAt = Date.now();
      frozen.kill('SIGSTOP');
      try {
        const failover = group.waitForFailover().then(() => Date.now());
        // Writes keep being attempted, as decisions would; each fails (503) within the command timeout.
        const resumed = await eventually(() => ledger!.reserve(scope, 'after-freeze', 10 * GiB, quota100));
        const resumedAt = Date.now();
        const switchedAt = await failover;
        expect(resumed.status).to.equal('approved');
        const outageMs = resumedAt - stoppedAt;
        console.log(`      SIGSTOP write outage ${outageMs} ms (failover announced after ${switchedAt - stoppedAt} ms, down-after ${downAfterMs} ms)`);
        expect(outageMs).to.be.at.most(2 * downAfterMs + (switchedAt - stoppedAt));
        for (const volume of committed) expect(await ledger!.owns(scope, volume), volume).to.equal(true);
      } finally {
        frozen.kill('SIGCONT');
      }
    });

    it('after a manual failover (the old master stays up as a replica), writes go to the new master', async () => {
      const committed = await commitVolumes(3);
      const sentinel = new Redis({ port: group.sentinels[0]!.port });
      try {
        await sentinel.call('SENTINEL', 'FAILOVER', group.name);
      } finally {
        sentinel.disconnect();
      }
      await group.waitForFailover();

      expect((await eventually(() => ledger!.reserve(scope, 'after-failover', 10 * GiB, quota100))).status).to.equal('approved');
      const newMaster = new Redis({ port: await currentMasterPort(), password });
      try {
        expect(newMaster.options.port).to.not.equal(group.master.port);
        expect(await newMaster.hget(dataKey, 'vol:after-failover:approved')).to.equal('1');
        expect(await newMaster.hget(dataKey, 'approved_capacity')).to.equal(String(40 * GiB));
      } finally {
        newMaster.disconnect();
      }
      for (const volume of committed) expect(await ledger!.owns(scope, volume), volume).to.equal(true);
    });

    it('acknowledges a write only once every in-sync replica holds it, and stops waiting for a stalled one', async () => {
      const stalled = group.servers[2]!.process.child;
      stalled.kill('SIGSTOP');
      try {
        const error = await rejectionOf(ledger!.reserve(scope, 'vol-a', GiB, quota100));
        expect(error).to.be.instanceOf(LedgerUnavailableError);
        // Seconds later the master reports the stalled replica lagging; writes wait only for the other.
        const retried = await eventually(() => ledger!.reserve(scope, 'vol-a', GiB, quota100));
        expect(retried.status).to.equal('already-approved');
      } finally {
        stalled.kill('SIGCONT');
      }
    });

    it('refuses a write that no replica acknowledges (it could be lost in a failover)', async () => {
      await Promise.all(group.servers.slice(1).map((replica) => replica.kill()));
      const error = await rejectionOf(ledger!.reserve(scope, 'unreplicated', 1, { kind: 'unlimited' }));
      expect(error).to.be.instanceOf(LedgerUnavailableError);
    });
  });
});
