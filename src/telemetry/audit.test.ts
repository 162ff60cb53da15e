import { expect } from 'chai';
import { Redis } from 'ioredis';
import { DECISIONS_KEY } from '../ledger/redis/recentDecisions.js';
import { RedisLedger } from '../ledger/redis/redisLedger.js';
import type { DecisionFacts } from '../pipeline/observe/observe.js';
import type { Decision, RequestView } from '../pipeline/types.js';
import { startRedis, type RunningRedis } from '../../test/support/redis.js';
import { decisionAudit, decisionRecord, MemoryRecentDecisions, type DecisionRecord, type RecentDecisions } from './audit.js';
import { silentLogger } from './log.js';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjc20tdGVuYW50In0.c2lnbmF0dXJl';
const request = (id: string): RequestView => ({
  id,
  method: 'POST',
  path: '/api/types/Volume/instances/',
  headers: { authorization: `Bearer ${TOKEN}`, forwarded: 'for=csm-authorization;https://x;7045c4cc20dffc0f' },
  body: Buffer.from('{"name":"k8s-1"}'),
});
const quotaDeny: Decision = {
  kind: 'deny',
  status: 507,
  headers: [],
  body: JSON.stringify({ message: 'request denied: not enough quota', httpStatusCode: 507 }),
  reason: 'quota-exceeded',
  metadata: {},
};
const facts: DecisionFacts = {
  startedAt: 0,
  phase: 'ledger',
  phases: [],
  arrayType: 'powerflex',
  tenant: 'team-a',
  systemID: '7045c4cc20dffc0f',
  operation: 'volume-create',
  pool: 'bronze',
  volume: 'k8s-1',
  sizeKiB: 16 * 1024 * 1024,
  quota: { pool: 'bronze', quotaKiB: 32 * 1024 * 1024, usedKiB: 32 * 1024 * 1024, requestedKiB: 16 * 1024 * 1024 },
};
const at = (id: string, tenant: string, time: string, volume?: string): DecisionRecord => ({
  id, time, tenant, outcome: 'deny', reason: 'not-owner', phase: 'ledger', method: 'DELETE', durationMs: 1, ...(volume && { volume }),
});

describe('audit: decision records', () => {
  it('records who asked for what, the refusing phase and the quota figures, never the token or headers', () => {
    const record = decisionRecord(request('req-1'), quotaDeny, facts, 1.25, new Date('2026-12-01T10:00:00Z'));
    expect(record).to.deep.equal({
      id: 'req-1', time: '2026-12-01T10:00:00.000Z', outcome: 'deny', status: 507, reason: 'quota-exceeded', phase: 'ledger',
      message: 'request denied: not enough quota', method: 'POST', tenant: 'team-a', arrayType: 'powerflex', systemID: '7045c4cc20dffc0f',
      pool: 'bronze', operation: 'volume-create', volume: 'k8s-1', sizeKiB: 16 * 1024 * 1024,
      quotaKiB: 32 * 1024 * 1024, usedKiB: 32 * 1024 * 1024, requestedKiB: 16 * 1024 * 1024, durationMs: 1.25,
    });
    expect(JSON.stringify(record)).to.not.contain(TOKEN.slice(0, 20));
  });

  it('logs and keeps every decision, allow and deny, but not a login answered locally', async () => {
    const store = new MemoryRecentDecisions();
    const counted: string[] = [];
    const observer = decisionAudit({
      store,
      logger: silentLogger,
      metrics: { phase() {}, decision: (outcome, reason) => counted.push(`${outcome}/${reason}`), wouldDeny() {}, auditWriteFailed() {} },
    });
    observer.decided(request('a'), { kind: 'allow', setHeaders: [], removeHeaders: [], metadata: {} }, { ...facts, quota: undefined });
    observer.decided(request('b'), quotaDeny, facts);
    observer.decided(request('c'), { ...quotaDeny, status: 200, reason: 'local-answer' }, facts);
    expect(counted).to.deep.equal(['allow/allowed', 'deny/quota-exceeded', 'deny/local-answer']);
    expect((await store.find({ tenant: 'team-a', limit: 10 })).map((r) => `${r.id}:${r.reason}`)).to.deep.equal(['b:quota-exceeded', 'a:allowed']);
  });
});

function storeContract(name: string, open: (capacity: number) => Promise<RecentDecisions>) {
  describe(`recent decisions: ${name}`, () => {
    it('finds by request id, or by tenant, volume and time, newest first', async () => {
      const store = await open(100);
      await store.add(at('r1', 'team-a', '2026-12-01T09:00:00Z', 'v1'));
      await store.add(at('r2', 'team-b', '2026-12-01T10:00:00Z', 'v1'));
      await store.add(at('r3', 'team-a', '2026-12-01T11:00:00Z', 'v2'));
      await store.add(at('r4', 'team-a', '2026-12-01T12:00:00Z', 'v1'));
      expect((await store.find({ id: 'r2', limit: 1 })).map((r) => r.tenant)).to.deep.equal(['team-b']);
      expect((await store.find({ tenant: 'team-a', limit: 10 })).map((r) => r.id)).to.deep.equal(['r4', 'r3', 'r1']);
      expect((await store.find({ tenant: 'team-a', volume: 'v1', limit: 10 })).map((r) => r.id)).to.deep.equal(['r4', 'r1']);
      expect((await store.find({ tenant: 'team-a', since: Date.parse('2026-12-01T10:30:00Z'), limit: 10 })).map((r) => r.id)).to.deep.equal(['r4', 'r3']);
      expect(await store.find({ id: 'missing', limit: 1 })).to.deep.equal([]);
    });
  });
}

storeContract('memory ring', (capacity) => Promise.resolve(new MemoryRecentDecisions(capacity)));

describe('recent decisions: bounds', function () {
  this.timeout(20_000);
  let redis: RunningRedis;
  let ledger: RedisLedger;
  before(async () => {
    redis = await startRedis();
    ledger = await RedisLedger.connect({ url: redis.url });
  });
  after(async () => {
    await ledger?.close();
    await redis?.stop();
  });

  storeContract('Redis stream', () => Promise.resolve(ledger.recentDecisions()));

  it('the memory ring keeps only the last N', async () => {
    const store = new MemoryRecentDecisions(3);
    for (let i = 1; i <= 5; i += 1) await store.add(at(`r${i}`, 'team-a', new Date(Date.UTC(2026, 11, 1, i)).toISOString()));
    expect((await store.find({ tenant: 'team-a', limit: 10 })).map((r) => r.id)).to.deep.equal(['r5', 'r4', 'r3']);
  });

  it('the Redis stream keeps every decision of a burst, in order, though they are written together', async () => {
    const store = ledger.recentDecisions();
    await Promise.all(Array.from({ length: 600 }, (_, i) => store.add(at(`burst-${i}`, 'team-burst', new Date().toISOString()))));
    const kept = await store.find({ tenant: 'team-burst', limit: 1000 });
    expect(kept.map((r) => r.id)).to.deep.equal(Array.from({ length: 600 }, (_, i) => `burst-${599 - i}`));
  });

  it('the Redis stream takes the decisions of a 20 ms window in one write, and a find sees one added just before it', async () => {
    const store = ledger.recentDecisions();
    const client = new Redis(redis.url);
    const scripts = async () => Number(/cmdstat_eval:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);
    const before = await scripts();
    const spread = [];
    for (let i = 0; i < 5; i += 1) {
      spread.push(store.add(at(`window-${i}`, 'team-window', new Date().toISOString())));
      await new Promise((resolve) => setImmediate(resolve)); // separate turns of the event loop
    }
    await Promise.all(spread);
    const after = await scripts().finally(() => client.disconnect());
    expect(after).to.equal(before + 1);
    void store.add(at('just-now', 'team-window', new Date().toISOString()));
    expect((await store.find({ id: 'just-now', limit: 1 })).map((r) => r.id)).to.deep.equal(['just-now']);
  });

  it('the Redis stream writes what is still queued on flush (shutdown)', async () => {
    const store = ledger.recentDecisions();
    const added = store.add(at('queued-at-close', 'team-flush', new Date().toISOString()));
    await store.flush();
    const client = new Redis(redis.url);
    const entries = await client.xrevrange(DECISIONS_KEY, '+', '-', 'COUNT', 5).finally(() => client.disconnect());
    expect(entries.map(([, fields]) => (JSON.parse(fields[1]!) as DecisionRecord).id)).to.include('queued-at-close');
    await added;
  });

  it('the Redis stream is capped near its MAXLEN, newest kept', async () => {
    const store = ledger.recentDecisions(100);
    // In 20 writes of 50 (a batch is one script call; the cap applies at each XADD of it).
    for (let write = 0; write < 20; write += 1) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.add(at(`cap-${write * 50 + i}`, 'team-cap', new Date().toISOString()))));
    }
    const kept = await store.find({ tenant: 'team-cap', limit: 2000 });
    // MAXLEN ~ trims whole stream nodes (100 entries each by default): at most about one node more.
    expect(kept.length).to.be.within(100, 250);
    expect(kept[0]!.id).to.equal('cap-999');
  });
});
