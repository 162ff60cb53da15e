import { expect } from 'chai';
import type { StorageSystem } from '../resources/types.js';
import { LookupCache, type ArrayLookup } from './cache.js';

const system: StorageSystem = {
  name: 'pflex', type: 'powerflex', systemID: '542a2d5f5122210f', endpoint: 'https://gateway.example',
  skipCertificateValidation: false, credentials: { kind: 'secret', name: 'pflex-creds' },
};
const credentials = { username: 'admin', password: 'Password123!' };
const lookup = (id: string): ArrayLookup => ({ system, credentials, id });

/** A load whose answers the test gives: each call waits until the test settles it with a value or an error. */
function controlledLoad() {
  const calls: { id: string; settle: (value: string | Error) => void }[] = [];
  const load = (wanted: ArrayLookup) =>
    new Promise<string>((resolve, reject) => calls.push({ id: wanted.id, settle: (value) => (value instanceof Error ? reject(value) : resolve(value)) }));
  return { calls, load };
}

describe('LookupCache', () => {
  let now: number;
  beforeEach(() => (now = 1000));

  it('answers from the cache until the time is up, then asks again', async () => {
    let asked = 0;
    const cache = new LookupCache(async (wanted) => `${wanted.id}@${++asked}`, { maxEntries: 10, ttlMs: 500, now: () => now });
    expect(await cache.get(lookup('pool-1'))).to.equal('pool-1@1');
    now += 500;
    expect(await cache.get(lookup('pool-1'))).to.equal('pool-1@1');
    now += 1;
    expect(await cache.get(lookup('pool-1'))).to.equal('pool-1@2');
  });

  it('keeps at most its bound, evicting the least recently used', async () => {
    let asked = 0;
    const cache = new LookupCache(async (wanted) => `${wanted.id}@${++asked}`, { maxEntries: 2, ttlMs: 60_000 });
    await cache.get(lookup('a'));
    await cache.get(lookup('b'));
    await cache.get(lookup('a')); // 'b' is now the least recently used
    await cache.get(lookup('c'));
    expect([await cache.get(lookup('a')), await cache.get(lookup('c')), await cache.get(lookup('b'))]).to.deep.equal(['a@1', 'c@3', 'b@4']);
  });

  it('sends one lookup for every caller that misses the same answer while it is asked', async () => {
    const { calls, load } = controlledLoad();
    const cache = new LookupCache(load, { maxEntries: 10, ttlMs: 60_000 });
    const waiting = Array.from({ length: 50 }, () => cache.get(lookup('pool-1')));
    expect(calls).to.have.length(1);
    calls[0]!.settle('bronze');
    expect(new Set(await Promise.all(waiting))).to.deep.equal(new Set(['bronze']));
  });

  it('gives every waiting caller the error of a failed lookup, and caches nothing', async () => {
    const { calls, load } = controlledLoad();
    const cache = new LookupCache(load, { maxEntries: 10, ttlMs: 60_000 });
    const waiting = [cache.get(lookup('pool-1')), cache.get(lookup('pool-1'))].map((p) => p.then(() => 'answered', (error: Error) => error.message));
    calls[0]!.settle(new Error('gateway unreachable'));
    expect(await Promise.all(waiting)).to.deep.equal(['gateway unreachable', 'gateway unreachable']);
    const again = cache.get(lookup('pool-1'));
    expect(calls).to.have.length(2);
    calls[1]!.settle('bronze');
    expect(await again).to.equal('bronze');
  });

  it('an answer learnt on the way (set) does not fail the callers waiting for that lookup', async () => {
    const { calls, load } = controlledLoad();
    const cache = new LookupCache(load, { maxEntries: 10, ttlMs: 60_000 });
    const bronze = cache.get(lookup('pool-1'));
    const silver = cache.get(lookup('pool-2')).catch((error: Error) => `failed: ${error.message}`);
    // pool-1's listing names every pool, pool-2 among them, while pool-2's own lookup is in flight.
    calls[0]!.settle('bronze');
    cache.set(system, 'pool-2', 'silver');
    calls[1]!.settle('silver');
    expect(await Promise.all([bronze, silver])).to.deep.equal(['bronze', 'silver']);
  });

  describe('serving an expired answer while it is refreshed', () => {
    /** A cache whose answer for pool-1 ('bronze', from the first lookup) has just expired. */
    async function expiredAnswer() {
      const { calls, load } = controlledLoad();
      const cache = new LookupCache(load, { maxEntries: 10, ttlMs: 500, serveStaleWhileRefreshing: true, now: () => now });
      const first = cache.get(lookup('pool-1'));
      calls[0]!.settle('bronze');
      await first;
      now += 501;
      return { cache, calls };
    }

    it('answers at once with the old answer, refreshes once, then answers with the new one', async () => {
      const { cache, calls } = await expiredAnswer();
      expect(await Promise.all([cache.get(lookup('pool-1')), cache.get(lookup('pool-1'))])).to.deep.equal(['bronze', 'bronze']);
      expect(calls).to.have.length(2);
      calls[1]!.settle('bronze-renamed');
      await new Promise((resolve) => setImmediate(resolve));
      expect(await cache.get(lookup('pool-1'))).to.equal('bronze-renamed');
      expect(calls).to.have.length(2);
    });

    it('drops the old answer when the refresh fails: the next caller waits for its own lookup and sees its error', async () => {
      const { cache, calls } = await expiredAnswer();
      expect(await cache.get(lookup('pool-1'))).to.equal('bronze');
      calls[1]!.settle(new Error('gateway unreachable'));
      await new Promise((resolve) => setImmediate(resolve));
      const next = cache.get(lookup('pool-1')).then(() => 'answered', (error: Error) => error.message);
      expect(calls).to.have.length(3);
      calls[2]!.settle(new Error('gateway unreachable'));
      expect(await next).to.equal('gateway unreachable');
    });
  });

  it('a fresh lookup is its own, not the one already in flight, which still answers its callers', async () => {
    const { calls, load } = controlledLoad();
    const cache = new LookupCache(load, { maxEntries: 10, ttlMs: 60_000 });
    const inFlight = cache.get(lookup('vol-1'));
    const fresh = cache.fresh(lookup('vol-1'));
    expect(calls).to.have.length(2);
    calls[1]!.settle('16 GiB');
    expect(await fresh).to.equal('16 GiB');
    calls[0]!.settle('8 GiB');
    expect(await inFlight).to.equal('8 GiB');
  });
});
