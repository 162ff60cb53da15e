import { expect } from 'chai';
import { ExpiringCache } from './cache.js';

describe('ExpiringCache', () => {
  it('forgets an entry once its time is up', () => {
    let now = 1000;
    const cache = new ExpiringCache<string>(10, 500, () => now);
    cache.set('pool-1', 'bronze');
    now += 499;
    expect(cache.get('pool-1')).to.equal('bronze');
    now += 1;
    expect(cache.get('pool-1')).to.equal(undefined);
  });

  it('keeps at most its bound, evicting the least recently used', () => {
    const cache = new ExpiringCache<number>(2, 60_000);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).to.equal(1); // 'b' is now the least recently used
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).to.deep.equal([1, undefined, 3]);
  });
});
