// The ledger contract (issue 3), run against every backend: the embedded memory ledger and the Redis
// ledger on a real redis-server. Sizes are KiB; GiB below means 1024 * 1024 KiB.
import { expect } from 'chai';
import { collected } from '../src/arrays/jsonStream.js';
import { MemoryLedger } from '../src/ledger/memory/memoryLedger.js';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { rejectionOf } from './support/rejection.js';
import { MAX_KIB } from '../src/ledger/validate.js';
import { LedgerInputError, type Ledger, type QuotaScope, type ReservationId } from '../src/ledger/types.js';
import type { Quota } from '../src/resources/types.js';

const GiB = 1024 * 1024;
const limited = (kib: number): Quota => ({ kind: 'limited', kib });
const unlimited: Quota = { kind: 'unlimited' };
const scope: QuotaScope = { systemType: 'powerflex', systemID: '542a2d5f5122210f', pool: 'bronze', tenant: 'tenant-1' };
const otherTenant: QuotaScope = { ...scope, tenant: 'tenant-2' };
const otherPool: QuotaScope = { ...scope, pool: 'silver' };

/** A backend under test: makes a fresh, empty ledger whose reservation clock is `now`. */
interface LedgerBackend {
  name: string;
  before?(): Promise<void>;
  after?(): Promise<void>;
  create(now: () => number): Promise<Ledger>;
}

const memoryBackend: LedgerBackend = {
  name: 'memory',
  create: async (now) => new MemoryLedger({ now }),
};

function redisBackend(): LedgerBackend {
  let redis: RunningRedis | undefined;
  let test = 0;
  return {
    name: 'redis',
    before: async () => {
      redis = await startRedis();
    },
    after: async () => {
      await redis?.stop();
    },
    // A key prefix per test keeps tests apart without flushing between them.
    create: (now) => RedisLedger.connect({ url: redis!.url, keyPrefix: `contract-${++test}:`, now }),
  };
}

async function approvedId(ledger: Ledger, at: QuotaScope, volume: string, sizeKiB: number, quota: Quota = limited(100 * GiB)): Promise<ReservationId> {
  const result = await ledger.reserve(at, volume, sizeKiB, quota);
  if (result.status !== 'approved') throw new Error(`expected approved, got ${JSON.stringify(result)}`);
  return result.reservation;
}

async function createVolume(ledger: Ledger, at: QuotaScope, volume: string, sizeKiB: number): Promise<void> {
  await ledger.commit(await approvedId(ledger, at, volume, sizeKiB));
}

async function usageOf(ledger: Ledger, at: QuotaScope): Promise<{ usedKiB: number; reservedKiB: number; volumes: number }> {
  const row = (await ledger.usage(at.tenant)).find((r) => r.systemType === at.systemType && r.systemID === at.systemID && r.pool === at.pool);
  return row ? { usedKiB: row.usedKiB, reservedKiB: row.reservedKiB, volumes: row.volumes } : { usedKiB: 0, reservedKiB: 0, volumes: 0 };
}

/** The call must fail as bad input (a 400), not succeed and not fail as an outage. */
async function expectInputError(promise: Promise<unknown>): Promise<void> {
  expect(await rejectionOf(promise)).to.be.instanceOf(LedgerInputError);
}

async function deletionId(ledger: Ledger, at: QuotaScope, volume: string): Promise<ReservationId> {
  const result = await ledger.beginDelete(at, volume);
  if (result.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.deletion;
}

function ledgerContract(backend: LedgerBackend): void {
  describe(`ledger contract: ${backend.name}`, () => {
    let clock = 1_700_000_000_000;
    let ledger: Ledger;

    if (backend.before) before(() => backend.before!());
    if (backend.after) after(() => backend.after!());
    beforeEach(async () => {
      ledger = await backend.create(() => clock);
    });
    afterEach(() => ledger.close());

    describe('reserve', () => {
      it('approves within the quota and counts the reservation until the array confirms it', async () => {
        const reservation = await approvedId(ledger, scope, 'vol-a', 8 * GiB);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 8 * GiB, volumes: 0 });
        await ledger.commit(reservation);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 8 * GiB, reservedKiB: 0, volumes: 1 });
        expect(await ledger.owns(scope, 'vol-a')).to.equal(true);
      });

      it('approves an exact fit and denies one KiB more, reporting used, quota and requested', async () => {
        await createVolume(ledger, scope, 'vol-a', 60 * GiB);
        await approvedId(ledger, scope, 'vol-b', 30 * GiB);
        expect(await ledger.reserve(scope, 'vol-c', 10 * GiB + 1, limited(100 * GiB))).to.deep.equal({
          status: 'denied', usedKiB: 90 * GiB, quotaKiB: 100 * GiB, requestedKiB: 10 * GiB + 1,
        });
        expect((await ledger.reserve(scope, 'vol-c', 10 * GiB, limited(100 * GiB))).status).to.equal('approved');
      });

      it('a denied request holds nothing', async () => {
        await ledger.reserve(scope, 'too-big', 200 * GiB, limited(100 * GiB));
        expect(await ledger.usage()).to.deep.equal([]);
        expect((await ledger.beginDelete(scope, 'too-big')).status).to.equal('not-owner');
      });

      it('a retried create of the same name is already-approved with the same id and never charged twice', async () => {
        const first = await approvedId(ledger, scope, 'vol-a', 10 * GiB);
        expect(await ledger.reserve(scope, 'vol-a', 10 * GiB, limited(100 * GiB))).to.deep.equal({ status: 'already-approved', reservation: first });
        await ledger.commit(first);
        expect(await ledger.reserve(scope, 'vol-a', 10 * GiB, limited(100 * GiB))).to.deep.equal({ status: 'already-approved', reservation: first });
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 10 * GiB, reservedKiB: 0, volumes: 1 });
      });

      it('concurrent reservations never exceed the quota', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => ledger.reserve(scope, `vol-${i}`, 10 * GiB, limited(100 * GiB))),
        );
        expect(results.filter((r) => r.status === 'approved')).to.have.length(10);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 100 * GiB, volumes: 0 });
      });

      it('keeps quota per tenant and per pool', async () => {
        await createVolume(ledger, scope, 'vol-a', 100 * GiB);
        expect((await ledger.reserve(otherTenant, 'vol-a', 100 * GiB, limited(100 * GiB))).status).to.equal('approved');
        expect((await ledger.reserve(otherPool, 'vol-b', 100 * GiB, limited(100 * GiB))).status).to.equal('approved');
        expect((await ledger.reserve(scope, 'vol-b', 1, limited(100 * GiB))).status).to.equal('denied');
      });

      it('an unlimited quota never denies', async () => {
        expect((await ledger.reserve(scope, 'huge-1', MAX_KIB, unlimited)).status).to.equal('approved');
        expect((await ledger.reserve(scope, 'huge-2', MAX_KIB, unlimited)).status).to.equal('approved');
      });

      it('a limited quota of zero admits nothing', async () => {
        expect((await ledger.reserve(scope, 'vol-a', 1, limited(0))).status).to.equal('denied');
      });

      it('a report quota charges past it, saying what the denial would have been, and settles as usual', async () => {
        const report: Quota = { kind: 'limited', kib: 10 * GiB, enforcement: 'report' };
        await createVolume(ledger, scope, 'vol-a', 8 * GiB);
        const over = await ledger.reserve(scope, 'vol-b', 8 * GiB, report);
        if (over.status !== 'approved') expect.fail(`expected approved, got ${JSON.stringify(over)}`);
        expect(over.overQuota).to.deep.equal({ usedKiB: 8 * GiB, quotaKiB: 10 * GiB, requestedKiB: 8 * GiB });
        expect(await ledger.commit(over.reservation)).to.equal(true);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 16 * GiB, reservedKiB: 0, volumes: 2 });
        // Within the quota nothing is reported; enforced again, the charges made count against it.
        expect(await ledger.reserve(otherPool, 'vol-c', GiB, report)).to.not.have.property('overQuota');
        expect(await ledger.reserve(scope, 'vol-d', 1, limited(10 * GiB))).to.deep.equal({ status: 'denied', usedKiB: 16 * GiB, quotaKiB: 10 * GiB, requestedKiB: 1 });
        const freed = await ledger.beginDelete(scope, 'vol-b');
        if (freed.status !== 'ok') expect.fail(freed.status);
        await ledger.commitDelete(freed.deletion);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 8 * GiB, reservedKiB: 0, volumes: 1 });
      });

      it('a report quota lets an expansion past it, reserved until the array confirms it', async () => {
        await createVolume(ledger, scope, 'vol-a', 8 * GiB);
        const grown = await ledger.beginResize(scope, 'vol-a', 24 * GiB, { kind: 'limited', kib: 10 * GiB, enforcement: 'report' });
        expect(grown).to.deep.include({ status: 'approved', increaseKiB: 16 * GiB, overQuota: { usedKiB: 8 * GiB, quotaKiB: 10 * GiB, requestedKiB: 16 * GiB } });
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 8 * GiB, reservedKiB: 16 * GiB, volumes: 1 });
      });

      it('rejects an enforcement that is neither enforce nor report', async () => {
        const error = await rejectionOf(ledger.reserve(scope, 'vol-a', 1, { kind: 'limited', kib: 10, enforcement: 'warn' as 'report' }));
        expect(error).to.be.instanceOf(LedgerInputError);
        expect(await ledger.usage()).to.deep.equal([]);
      });

      it('is exact at 2^53 - 1 KiB', async () => {
        const quota = limited(MAX_KIB);
        await ledger.commit(await approvedId(ledger, scope, 'big', MAX_KIB - 2, quota));
        expect((await ledger.reserve(scope, 'two', 2, quota)).status).to.equal('approved');
        expect(await ledger.reserve(scope, 'one', 1, quota)).to.deep.equal({
          status: 'denied', usedKiB: MAX_KIB, quotaKiB: MAX_KIB, requestedKiB: 1,
        });
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: MAX_KIB - 2, reservedKiB: 2, volumes: 1 });
      });
    });

    describe('bad input', () => {
      for (const size of [-1, 0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '10' as unknown as number, undefined as unknown as number]) {
        it(`rejects the size ${typeof size === 'string' ? JSON.stringify(size) : String(size)} with a clear error and changes nothing`, async () => {
          const error = await rejectionOf(ledger.reserve(scope, 'vol-a', size, limited(100 * GiB)));
          expect(error).to.be.instanceOf(LedgerInputError);
          expect(error.message).to.match(/volume size must be an integer number of KiB/);
          expect(await ledger.usage()).to.deep.equal([]);
        });
      }

      it('rejects a fractional or negative quota', async () => {
        for (const kib of [-5, 2.5, 2 ** 60]) {
          const error = await rejectionOf(ledger.reserve(scope, 'vol-a', 1, limited(kib)));
          expect(error).to.be.instanceOf(LedgerInputError);
          expect(error.message).to.match(/^quota must be/);
        }
        expect(await ledger.usage()).to.deep.equal([]);
      });

      it('rejects scope parts that would make an ambiguous key, and empty volume names', async () => {
        const colon = { ...scope, pool: 'a:b' };
        await expectInputError(ledger.reserve(colon, 'v', 1, unlimited));
        await expectInputError(ledger.reserve(scope, '', 1, unlimited));
        await expectInputError(ledger.owns({ ...scope, systemType: 'nas' as QuotaScope['systemType'] }, 'v'));
      });

      it('rejects malformed ids, and a deletion id where a reservation id is expected', async () => {
        await createVolume(ledger, scope, 'vol-a', GiB);
        const deletion = await deletionId(ledger, scope, 'vol-a');
        for (const id of ['', 'not base64!', Buffer.from('{"k":"r"}').toString('base64url'), deletion]) {
          await expectInputError(ledger.commit(id));
          await expectInputError(ledger.release(id));
        }
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: GiB, reservedKiB: 0, volumes: 1 });
      });
    });

    describe('commit and release', () => {
      it('release after a failed create frees the capacity, once', async () => {
        const reservation = await approvedId(ledger, scope, 'vol-a', 100 * GiB);
        await ledger.release(reservation);
        await ledger.release(reservation);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 0, volumes: 0 });
        expect((await ledger.reserve(scope, 'vol-b', 100 * GiB, limited(100 * GiB))).status).to.equal('approved');
      });

      it("keeps a reservation another request found (a retry forwarded with it) from a refusal; the resolver releases it unless it was found after the resolver listed it", async () => {
        const reservation = await approvedId(ledger, scope, 'vol-a', 10 * GiB);
        clock += 1_000;
        expect((await ledger.reserve(scope, 'vol-a', 10 * GiB, limited(100 * GiB))).status).to.equal('already-approved');
        expect(await ledger.release(reservation)).to.equal(false);
        const [listed] = await ledger.pending(0);
        expect(listed!.since).to.equal(clock);
        clock += 1_000;
        await ledger.reserve(scope, 'vol-a', 10 * GiB, limited(100 * GiB));
        expect(await ledger.release(reservation, { since: listed!.since })).to.equal(false);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 10 * GiB, volumes: 0 });
        const [again] = await ledger.pending(0);
        expect(await ledger.release(reservation, { since: again!.since })).to.equal(true);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 0, volumes: 0 });
        // The name's next life starts unclaimed; a committed volume found again stays as it is.
        expect(await ledger.release(await approvedId(ledger, scope, 'vol-a', 10 * GiB))).to.equal(true);
        await createVolume(ledger, scope, 'vol-b', GiB);
        await ledger.reserve(scope, 'vol-b', GiB, limited(100 * GiB));
        expect(await ledger.pending(0)).to.deep.equal([]);
      });

      it('commit twice counts the volume once', async () => {
        const reservation = await approvedId(ledger, scope, 'vol-a', 10 * GiB);
        await ledger.commit(reservation);
        await ledger.commit(reservation);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 10 * GiB, reservedKiB: 0, volumes: 1 });
      });

      it('release after commit keeps the volume (a retry answered "already exists")', async () => {
        const reservation = await approvedId(ledger, scope, 'vol-a', 10 * GiB);
        await ledger.commit(reservation);
        await ledger.release(reservation);
        expect(await ledger.owns(scope, 'vol-a')).to.equal(true);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 10 * GiB, reservedKiB: 0, volumes: 1 });
      });

      it('commit after release creates nothing', async () => {
        const reservation = await approvedId(ledger, scope, 'vol-a', 10 * GiB);
        await ledger.release(reservation);
        await ledger.commit(reservation);
        expect(await ledger.owns(scope, 'vol-a')).to.equal(false);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 0, volumes: 0 });
      });

      it('a stale id from a released reservation does not touch a new reservation of the same name', async () => {
        const stale = await approvedId(ledger, scope, 'vol-a', 10 * GiB);
        await ledger.release(stale);
        const fresh = await approvedId(ledger, scope, 'vol-a', 20 * GiB);
        expect(fresh).to.not.equal(stale);
        await ledger.commit(stale);
        await ledger.release(stale);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 20 * GiB, volumes: 0 });
      });
    });

    describe('ownership and delete', () => {
      it('owns reserved and committed volumes of that tenant in that scope (the driver publishes right after create)', async () => {
        await createVolume(ledger, scope, 'vol-a', GiB);
        await approvedId(ledger, scope, 'vol-pending', GiB);
        await ledger.release(await approvedId(ledger, scope, 'vol-released', GiB));
        expect(await ledger.owns(scope, 'vol-a')).to.equal(true);
        expect(await ledger.owns(scope, 'vol-pending')).to.equal(true);
        expect(await ledger.owns(scope, 'vol-released')).to.equal(false);
        expect(await ledger.owns(otherTenant, 'vol-a')).to.equal(false);
        expect(await ledger.owns(otherPool, 'vol-a')).to.equal(false);
        expect(await ledger.owns(scope, 'unknown')).to.equal(false);
      });

      it('refuses a delete by another tenant and of an unknown volume', async () => {
        await createVolume(ledger, scope, 'vol-a', GiB);
        expect(await ledger.beginDelete(otherTenant, 'vol-a')).to.deep.equal({ status: 'not-owner' });
        expect(await ledger.beginDelete(scope, 'unknown')).to.deep.equal({ status: 'not-owner' });
        expect(await ledger.owns(scope, 'vol-a')).to.equal(true);
      });

      it('frees the capacity once however often the delete is repeated', async () => {
        await createVolume(ledger, scope, 'vol-a', 10 * GiB);
        await createVolume(ledger, scope, 'vol-b', 10 * GiB);
        const first = await deletionId(ledger, scope, 'vol-a');
        const concurrent = await ledger.beginDelete(scope, 'vol-a');
        // The second delete only found the first one's hold: the same id, as a hint.
        expect(concurrent).to.deep.equal({ status: 'already-deleting', deletion: first });
        await ledger.commitDelete(first);
        await ledger.commitDelete(first);
        await ledger.commitDelete((concurrent as { deletion: ReservationId }).deletion);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 10 * GiB, reservedKiB: 0, volumes: 1 });
        expect(await ledger.owns(scope, 'vol-a')).to.equal(false);
        expect(await ledger.beginDelete(scope, 'vol-a')).to.deep.equal({ status: 'not-owner' });
      });

      it('an aborted delete leaves the volume owned and charged', async () => {
        await createVolume(ledger, scope, 'vol-a', 10 * GiB);
        const deletion = await deletionId(ledger, scope, 'vol-a');
        await ledger.abortDelete(deletion);
        expect(await ledger.owns(scope, 'vol-a')).to.equal(true);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 10 * GiB, reservedKiB: 0, volumes: 1 });
        await ledger.commitDelete(await deletionId(ledger, scope, 'vol-a'));
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 0, volumes: 0 });
      });

      it('deleting a reserved, not yet confirmed volume frees its reservation', async () => {
        const reservation = await approvedId(ledger, scope, 'vol-a', 10 * GiB);
        await ledger.commitDelete(await deletionId(ledger, scope, 'vol-a'));
        await ledger.commit(reservation);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 0, volumes: 0 });
        expect(await ledger.pending(0)).to.deep.equal([]);
      });

      it('a name deleted and created again is charged again, and the old delete id cannot free it', async () => {
        await createVolume(ledger, scope, 'vol-a', 60 * GiB);
        const oldDeletion = await deletionId(ledger, scope, 'vol-a');
        await ledger.commitDelete(oldDeletion);
        const again = await ledger.reserve(scope, 'vol-a', 60 * GiB, limited(100 * GiB));
        expect(again.status).to.equal('approved');
        await ledger.commit((again as { reservation: string }).reservation);
        expect((await ledger.reserve(scope, 'vol-b', 60 * GiB, limited(100 * GiB))).status).to.equal('denied');
        await ledger.commitDelete(oldDeletion);
        await ledger.abortDelete(oldDeletion);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 60 * GiB, reservedKiB: 0, volumes: 1 });
        expect(await ledger.owns(scope, 'vol-a')).to.equal(true);
      });
    });

    describe('settlement results', () => {
      it('commit, release, commitDelete and abortDelete say whether they changed anything', async () => {
        const reservation = await approvedId(ledger, scope, 'vol-a', GiB);
        expect([await ledger.commit(reservation), await ledger.commit(reservation), await ledger.release(reservation)]).to.deep.equal([true, false, false]);
        const released = await approvedId(ledger, scope, 'vol-b', GiB);
        expect([await ledger.release(released), await ledger.release(released)]).to.deep.equal([true, false]);
        const aborted = await deletionId(ledger, scope, 'vol-a');
        expect([await ledger.abortDelete(aborted), await ledger.abortDelete(aborted)]).to.deep.equal([true, false]);
        const deleted = await deletionId(ledger, scope, 'vol-a');
        expect([await ledger.commitDelete(deleted), await ledger.commitDelete(deleted)]).to.deep.equal([true, false]);
      });

      for (const kind of ['deletion', 'resize'] as const) {
        it(`keeps a ${kind} another request found (a retry forwarded with it) from a refusal's abort; the resolver aborts it unless it was found after the resolver listed it`, async () => {
          await createVolume(ledger, scope, 'vol-a', 8 * GiB);
          // The owner's hold, then the retry's: the same id, found, so the hold is claimed.
          const begin = async () => {
            if (kind === 'deletion') return (await ledger.beginDelete(scope, 'vol-a')) as { status: string; deletion: ReservationId };
            return (await ledger.beginResize(scope, 'vol-a', 16 * GiB, limited(100 * GiB))) as { status: string; resize: ReservationId };
          };
          const abort = (options?: { since: number }) => (kind === 'deletion' ? ledger.abortDelete(id, options) : ledger.abortResize(id, options));
          const owner = await begin();
          const id = 'deletion' in owner ? owner.deletion : owner.resize;
          clock += 1_000;
          const retry = await begin();
          expect(retry.status).to.equal(kind === 'deletion' ? 'already-deleting' : 'already-resizing');
          expect(await abort()).to.equal(false);
          const [listed] = await ledger.pending(0);
          expect(listed).to.include({ kind, id, since: clock });
          clock += 1_000;
          await begin();
          expect(await abort({ since: listed!.since })).to.equal(false);
          expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 8 * GiB, reservedKiB: kind === 'resize' ? 8 * GiB : 0, volumes: 1 });
          const [again] = await ledger.pending(0);
          expect(await abort({ since: again!.since })).to.equal(true);
          expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 8 * GiB, reservedKiB: 0, volumes: 1 });
          expect(await ledger.pending(0)).to.deep.equal([]);
          // The next hold of the volume starts unclaimed.
          const next = await begin();
          expect(await (kind === 'deletion' ? ledger.abortDelete((next as { deletion: ReservationId }).deletion) : ledger.abortResize((next as { resize: ReservationId }).resize))).to.equal(true);
        });
      }

      it('lists deletions in flight as pending holds, oldest first, until they are settled', async () => {
        await createVolume(ledger, scope, 'vol-a', 2 * GiB);
        const deletion = await deletionId(ledger, scope, 'vol-a');
        clock += 1_000;
        expect(await ledger.pending(500)).to.deep.equal([{ kind: 'deletion', id: deletion, scope, volume: 'vol-a', sizeKiB: 2 * GiB, since: clock - 1_000 }]);
        await ledger.abortDelete(deletion);
        expect(await ledger.pending(0)).to.deep.equal([]);
      });
    });

    describe('resize', () => {
      const resizeId = async (volume: string, newSizeKiB: number, quota: Quota = limited(100 * GiB)) => {
        const result = await ledger.beginResize(scope, volume, newSizeKiB, quota);
        if (result.status !== 'approved') throw new Error(`expected approved, got ${JSON.stringify(result)}`);
        return result;
      };

      it('holds the increase until the array reports the new size, then charges the new size', async () => {
        await createVolume(ledger, scope, 'vol-a', 8 * GiB);
        const { resize, increaseKiB } = await resizeId('vol-a', 24 * GiB);
        expect(increaseKiB).to.equal(16 * GiB);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 8 * GiB, reservedKiB: 16 * GiB, volumes: 1 });
        expect(await ledger.pending(0)).to.deep.equal([{ kind: 'resize', id: resize, scope, volume: 'vol-a', sizeKiB: 24 * GiB, since: clock }]);
        expect([await ledger.commitResize(resize), await ledger.commitResize(resize), await ledger.abortResize(resize)]).to.deep.equal([true, false, false]);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 24 * GiB, reservedKiB: 0, volumes: 1 });
        expect(await ledger.volumes()).to.deep.equal([{ ...scope, volume: 'vol-a', sizeKiB: 24 * GiB, state: 'committed' }]);
        expect(await ledger.pending(0)).to.deep.equal([]);
      });

      it('an aborted resize frees the increase, once', async () => {
        await createVolume(ledger, scope, 'vol-a', 8 * GiB);
        const { resize } = await resizeId('vol-a', 24 * GiB);
        expect([await ledger.abortResize(resize), await ledger.abortResize(resize), await ledger.commitResize(resize)]).to.deep.equal([true, false, false]);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 8 * GiB, reservedKiB: 0, volumes: 1 });
      });

      it('checks only the increase against the quota and reports it as requested', async () => {
        await createVolume(ledger, scope, 'vol-a', 60 * GiB);
        await createVolume(ledger, scope, 'vol-b', 30 * GiB);
        expect(await ledger.beginResize(scope, 'vol-a', 71 * GiB, limited(100 * GiB))).to.deep.equal({
          status: 'denied', usedKiB: 90 * GiB, quotaKiB: 100 * GiB, requestedKiB: 11 * GiB,
        });
        expect((await ledger.beginResize(scope, 'vol-a', 70 * GiB, limited(100 * GiB))).status).to.equal('approved');
        expect((await ledger.reserve(scope, 'vol-c', 1, limited(100 * GiB))).status).to.equal('denied');
      });

      it('a retry to the same size finds the hold (a hint); another size while one is in flight is busy', async () => {
        await createVolume(ledger, scope, 'vol-a', 8 * GiB);
        const { resize } = await resizeId('vol-a', 16 * GiB);
        expect(await ledger.beginResize(scope, 'vol-a', 16 * GiB, limited(100 * GiB))).to.deep.equal({ status: 'already-resizing', resize });
        expect(await ledger.beginResize(scope, 'vol-a', 24 * GiB, limited(100 * GiB))).to.deep.equal({ status: 'busy' });
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 8 * GiB, reservedKiB: 8 * GiB, volumes: 1 });
      });

      it('refuses a shrink as bad input and changes nothing; the same size holds nothing', async () => {
        await createVolume(ledger, scope, 'vol-a', 16 * GiB);
        const error = await rejectionOf(ledger.beginResize(scope, 'vol-a', 8 * GiB, limited(100 * GiB)));
        expect(error).to.be.instanceOf(LedgerInputError);
        expect(error.message).to.equal(`volume "vol-a" cannot shrink from ${16 * GiB} KiB to ${8 * GiB} KiB`);
        expect(await ledger.beginResize(scope, 'vol-a', 16 * GiB, limited(100 * GiB))).to.deep.equal({ status: 'unchanged' });
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 16 * GiB, reservedKiB: 0, volumes: 1 });
      });

      it('an allowed shrink keeps the old size charged until the array confirms it, then frees the difference; aborted, it changes nothing', async () => {
        await createVolume(ledger, scope, 'vol-a', 16 * GiB);
        await createVolume(ledger, scope, 'vol-b', 84 * GiB);
        const shrink = await ledger.beginResize(scope, 'vol-a', 6 * GiB, limited(100 * GiB), { allowShrink: true });
        if (shrink.status !== 'approved') throw new Error(`expected approved, got ${JSON.stringify(shrink)}`);
        expect(shrink.increaseKiB).to.equal(0);
        // Nothing is freed on the tenant's word: the quota is still full while the shrink is in flight.
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 100 * GiB, reservedKiB: 0, volumes: 2 });
        expect((await ledger.reserve(scope, 'vol-c', 1, limited(100 * GiB))).status).to.equal('denied');
        expect(await ledger.pending(0)).to.deep.equal([{ kind: 'resize', id: shrink.resize, scope, volume: 'vol-a', sizeKiB: 6 * GiB, since: clock }]);
        expect([await ledger.commitResize(shrink.resize), await ledger.commitResize(shrink.resize)]).to.deep.equal([true, false]);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 90 * GiB, reservedKiB: 0, volumes: 2 });

        const aborted = await ledger.beginResize(scope, 'vol-a', 2 * GiB, limited(100 * GiB), { allowShrink: true });
        if (aborted.status !== 'approved') throw new Error(`expected approved, got ${JSON.stringify(aborted)}`);
        expect(await ledger.abortResize(aborted.resize)).to.equal(true);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 90 * GiB, reservedKiB: 0, volumes: 2 });
        // Deleted with a shrink in flight: the whole old size is freed once.
        await ledger.beginResize(scope, 'vol-a', 2 * GiB, limited(100 * GiB), { allowShrink: true });
        await ledger.commitDelete(await deletionId(ledger, scope, 'vol-a'));
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 84 * GiB, reservedKiB: 0, volumes: 1 });
        expect(await ledger.pending(0)).to.deep.equal([]);
      });

      it("refuses another tenant's volume, and a volume still being created or deleted", async () => {
        await createVolume(ledger, scope, 'vol-a', 8 * GiB);
        await approvedId(ledger, scope, 'vol-new', 8 * GiB);
        expect(await ledger.beginResize(otherTenant, 'vol-a', 16 * GiB, unlimited)).to.deep.equal({ status: 'not-owner' });
        expect(await ledger.beginResize(scope, 'vol-new', 16 * GiB, unlimited)).to.deep.equal({ status: 'busy' });
        await deletionId(ledger, scope, 'vol-a');
        expect(await ledger.beginResize(scope, 'vol-a', 16 * GiB, unlimited)).to.deep.equal({ status: 'busy' });
      });

      it('deleting a volume with a resize in flight frees the volume and the increase', async () => {
        await createVolume(ledger, scope, 'vol-a', 8 * GiB);
        const { resize } = await resizeId('vol-a', 16 * GiB);
        const deletion = await deletionId(ledger, scope, 'vol-a');
        await ledger.commitDelete(deletion);
        await ledger.commitResize(resize);
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 0, volumes: 0 });
        expect(await ledger.pending(0)).to.deep.equal([]);
      });

      it('is exact at 2^53 - 1 KiB', async () => {
        await ledger.commit(await approvedId(ledger, scope, 'big', MAX_KIB - 3, limited(MAX_KIB)));
        const { increaseKiB } = await resizeId('big', MAX_KIB - 1, limited(MAX_KIB));
        expect(increaseKiB).to.equal(2);
        expect((await ledger.beginResize(scope, 'big', MAX_KIB, limited(MAX_KIB))).status).to.equal('busy');
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: MAX_KIB - 3, reservedKiB: 2, volumes: 1 });
      });
    });

    describe('repairs to the array\'s truth', () => {
      it('recordPresent charges a volume the ledger does not have, without a quota check, owned from then on', async () => {
        expect(await ledger.recordPresent(scope, 'found', 200 * GiB, 'on the array with the tenant prefix')).to.equal('charged');
        expect(await ledger.recordPresent(scope, 'found', 200 * GiB, 'again')).to.equal('unchanged');
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 200 * GiB, reservedKiB: 0, volumes: 1 });
        expect(await ledger.owns(scope, 'found')).to.equal(true);
        await ledger.commitDelete(await deletionId(ledger, scope, 'found'));
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 0, volumes: 0 });
      });

      it('recordPresent commits a reservation at the size the array reports, and corrects a committed size', async () => {
        await approvedId(ledger, scope, 'reserved', 5 * GiB);
        await createVolume(ledger, scope, 'grown', 8 * GiB);
        expect(await ledger.recordPresent(scope, 'reserved', 8 * GiB, 'array has it')).to.equal('committed');
        expect(await ledger.recordPresent(scope, 'grown', 16 * GiB, 'expanded out of band')).to.equal('corrected');
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 24 * GiB, reservedKiB: 0, volumes: 2 });
        expect(await ledger.pending(0)).to.deep.equal([]);
      });

      it('recordPresent leaves a volume with a delete or resize in flight to that hold', async () => {
        await createVolume(ledger, scope, 'deleting', 8 * GiB);
        await deletionId(ledger, scope, 'deleting');
        await createVolume(ledger, scope, 'resizing', 8 * GiB);
        await ledger.beginResize(scope, 'resizing', 16 * GiB, unlimited);
        expect(await ledger.recordPresent(scope, 'deleting', 9 * GiB, 'x')).to.equal('unchanged');
        expect(await ledger.recordPresent(scope, 'resizing', 9 * GiB, 'x')).to.equal('unchanged');
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 16 * GiB, reservedKiB: 8 * GiB, volumes: 2 });
      });

      it('recordAbsent frees whatever the ledger holds for a volume, once', async () => {
        await createVolume(ledger, scope, 'committed', 8 * GiB);
        await approvedId(ledger, scope, 'reserved', 8 * GiB);
        await createVolume(ledger, scope, 'deleting', 8 * GiB);
        await deletionId(ledger, scope, 'deleting');
        await createVolume(ledger, scope, 'resizing', 8 * GiB);
        await ledger.beginResize(scope, 'resizing', 16 * GiB, unlimited);
        for (const volume of ['committed', 'reserved', 'deleting', 'resizing']) {
          expect([await ledger.recordAbsent(scope, volume, 'not on the array'), await ledger.recordAbsent(scope, volume, 'again')]).to.deep.equal([true, false]);
        }
        expect(await usageOf(ledger, scope)).to.deep.equal({ usedKiB: 0, reservedKiB: 0, volumes: 0 });
        expect(await ledger.pending(0)).to.deep.equal([]);
        expect(await ledger.volumes()).to.deep.equal([]);
      });

      it('holders names every scope of the system that has a volume of that name', async () => {
        await createVolume(ledger, scope, 'shared', GiB);
        await approvedId(ledger, otherTenant, 'shared', GiB);
        await createVolume(ledger, { ...scope, systemID: 'another' }, 'shared', GiB);
        await ledger.release(await approvedId(ledger, otherPool, 'shared', GiB));
        expect(await ledger.holders('powerflex', scope.systemID, 'shared')).to.have.deep.members([scope, otherTenant]);
        expect(await ledger.holders('powerflex', scope.systemID, 'nobody')).to.deep.equal([]);
      });
    });

    describe('usage and pending', () => {
      it('reports one row per tenant, system and pool, filtered by tenant', async () => {
        await createVolume(ledger, scope, 'vol-a', 3 * GiB);
        await createVolume(ledger, otherPool, 'vol-b', 5 * GiB);
        await approvedId(ledger, otherTenant, 'vol-c', 7 * GiB);
        const rows = await ledger.usage();
        expect(rows).to.have.deep.members([
          { ...scope, usedKiB: 3 * GiB, reservedKiB: 0, volumes: 1 },
          { ...otherPool, usedKiB: 5 * GiB, reservedKiB: 0, volumes: 1 },
          { ...otherTenant, usedKiB: 0, reservedKiB: 7 * GiB, volumes: 0 },
        ]);
        expect(await ledger.usage('tenant-2')).to.deep.equal([{ ...otherTenant, usedKiB: 0, reservedKiB: 7 * GiB, volumes: 0 }]);
        expect(await ledger.usage('nobody')).to.deep.equal([]);
      });

      it('lists reservations still unconfirmed after the given age, oldest first, with ids that resolve them', async () => {
        const old = await approvedId(ledger, scope, 'old', GiB);
        clock += 60_000;
        await approvedId(ledger, otherTenant, 'recent', 2 * GiB);
        await createVolume(ledger, scope, 'confirmed', GiB);
        clock += 1_000;
        const stale = await ledger.pending(30_000);
        expect(stale).to.deep.equal([{ kind: 'reservation', id: old, scope, volume: 'old', sizeKiB: GiB, since: clock - 61_000 }]);
        expect((await ledger.pending(0)).map((p) => p.volume)).to.deep.equal(['old', 'recent']);
        await ledger.release(stale[0]!.id);
        expect((await ledger.pending(0)).map((p) => p.volume)).to.deep.equal(['recent']);
      });

      it('rejects a negative age', async () => {
        await expectInputError(ledger.pending(-1));
        await expectInputError(collected(ledger.holds(-1)));
      });

      it('lists more holds than one page of the store holds, many of one millisecond, each once and oldest first, with or without sizes', async () => {
        // The Redis ledger reads the pending set 500 holds at a time: 700 holds of one millisecond
        // end the first page in the middle of them, and 400 of the next end the second.
        const made: string[] = [];
        const reserveAt = async (count: number) => {
          for (let i = 0; i < count; i++) {
            const volume = `v${made.length}`;
            made.push(volume);
            await approvedId(ledger, scope, volume, i + 1, unlimited);
          }
          clock += 1;
        };
        const first = clock;
        await reserveAt(700);
        await reserveAt(400);
        await reserveAt(1);
        const pending = await ledger.pending(0);
        expect(pending.map((hold) => hold.volume)).to.have.members(made);
        expect(pending).to.have.length(made.length);
        expect(pending.map((hold) => hold.since)).to.deep.equal([...Array(700).fill(first), ...Array(400).fill(first + 1), first + 2]);
        expect(pending.find((hold) => hold.volume === 'v699')?.sizeKiB).to.equal(700);
        expect(await collected(ledger.holds(0))).to.deep.equal(pending.map(({ sizeKiB: _, ...hold }) => hold));
        expect(await ledger.holdSummary()).to.deep.equal({ counts: { reservation: 1101, deletion: 0, resize: 0 }, oldestSince: first });
      });

      it('counts the holds of each kind and dates the oldest, as pending() lists them', async () => {
        expect(await ledger.holdSummary()).to.deep.equal({ counts: { reservation: 0, deletion: 0, resize: 0 }, oldestSince: undefined });
        await approvedId(ledger, scope, 'reserved', GiB);
        const oldest = clock;
        clock += 5_000;
        await createVolume(ledger, scope, 'deleting', GiB);
        await deletionId(ledger, scope, 'deleting');
        await createVolume(ledger, otherTenant, 'growing', GiB);
        expect((await ledger.beginResize(otherTenant, 'growing', 2 * GiB, limited(100 * GiB))).status).to.equal('approved');
        const summary = await ledger.holdSummary();
        expect(summary).to.deep.equal({ counts: { reservation: 1, deletion: 1, resize: 1 }, oldestSince: oldest });
        const listed = await ledger.pending(0);
        expect(listed.map((hold) => hold.kind).sort()).to.deep.equal(['deletion', 'reservation', 'resize']);
        expect(Math.min(...listed.map((hold) => hold.since))).to.equal(summary.oldestSince);
      });
    });

    describe('volumes', () => {
      it('lists each reserved, committed and deleting volume by name with its size, in every pool, and never a deleted or released one', async () => {
        await createVolume(ledger, scope, 'committed', 3 * GiB);
        await approvedId(ledger, scope, 'reserved', 4 * GiB);
        await createVolume(ledger, scope, 'being-deleted', 5 * GiB);
        await deletionId(ledger, scope, 'being-deleted');
        await createVolume(ledger, scope, 'deleted', 6 * GiB);
        await ledger.commitDelete(await deletionId(ledger, scope, 'deleted'));
        await ledger.release(await approvedId(ledger, scope, 'released', 7 * GiB));
        await createVolume(ledger, otherPool, 'in-silver', 8 * GiB);
        expect(await ledger.volumes()).to.have.deep.members([
          { ...scope, volume: 'committed', sizeKiB: 3 * GiB, state: 'committed' },
          { ...scope, volume: 'reserved', sizeKiB: 4 * GiB, state: 'reserved' },
          { ...scope, volume: 'being-deleted', sizeKiB: 5 * GiB, state: 'deleting' },
          { ...otherPool, volume: 'in-silver', sizeKiB: 8 * GiB, state: 'committed' },
        ]);
      });

      it('filters by tenant: the same name in two tenants is two volumes', async () => {
        await createVolume(ledger, scope, 'vol-a', GiB);
        await approvedId(ledger, otherTenant, 'vol-a', 2 * GiB);
        await createVolume(ledger, { ...otherTenant, pool: 'silver' }, 'vol-b', 3 * GiB);
        expect(await ledger.volumes('tenant-2')).to.have.deep.members([
          { ...otherTenant, volume: 'vol-a', sizeKiB: 2 * GiB, state: 'reserved' },
          { ...otherTenant, pool: 'silver', volume: 'vol-b', sizeKiB: 3 * GiB, state: 'committed' },
        ]);
        expect(await ledger.volumes('tenant-1')).to.deep.equal([{ ...scope, volume: 'vol-a', sizeKiB: GiB, state: 'committed' }]);
        expect(await ledger.volumes('nobody')).to.deep.equal([]);
      });

      it('an aborted delete lists the volume as it was before; a reserved volume confirmed mid-delete stays deleting', async () => {
        await createVolume(ledger, scope, 'aborted', GiB);
        await ledger.abortDelete(await deletionId(ledger, scope, 'aborted'));
        const reservation = await approvedId(ledger, scope, 'racing', 2 * GiB);
        await deletionId(ledger, scope, 'racing');
        await ledger.commit(reservation);
        expect(await ledger.volumes()).to.have.deep.members([
          { ...scope, volume: 'aborted', sizeKiB: GiB, state: 'committed' },
          { ...scope, volume: 'racing', sizeKiB: 2 * GiB, state: 'deleting' },
        ]);
      });

      it('a name deleted and created again is listed once, with its new size', async () => {
        await createVolume(ledger, scope, 'vol-a', GiB);
        await ledger.commitDelete(await deletionId(ledger, scope, 'vol-a'));
        await createVolume(ledger, scope, 'vol-a', 9 * GiB);
        expect(await ledger.volumes()).to.deep.equal([{ ...scope, volume: 'vol-a', sizeKiB: 9 * GiB, state: 'committed' }]);
      });

      it('lists nothing for an empty ledger', async () => {
        expect(await ledger.volumes()).to.deep.equal([]);
      });
    });
  });
}

ledgerContract(memoryBackend);
ledgerContract(redisBackend());
