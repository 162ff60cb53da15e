import { expect } from 'chai';
import type { StorageSystem, Tenant } from '../resources/types.js';
import { parseDuration } from './duration.js';
import { DEFAULT_POLL_INTERVAL_MS, ownerByPrefix, pollIntervalMs } from './reconcile.js';

const tenant = (name: string, volumePrefix?: string): Tenant => ({ name, roles: [], approveSdc: false, revoke: false, ...(volumePrefix && { volumePrefix }) });
const system = (pollInterval?: string) => ({ name: 's', type: 'powerflex', systemID: 'x', ...(pollInterval !== undefined && { pollInterval }) }) as StorageSystem;

describe('reconciliation schedule and ownership', () => {
  it("reads a Storage's pollInterval as Go durations: default 5 min, 0 off, and refuses anything else", () => {
    expect([pollIntervalMs(system()), pollIntervalMs(system('0')), pollIntervalMs(system('0s')), pollIntervalMs(system('30s')), pollIntervalMs(system('1h30m'))]).to.deep.equal([
      DEFAULT_POLL_INTERVAL_MS, 0, 0, 30_000, 5_400_000,
    ]);
    expect(parseDuration('1.5m')).to.equal(90_000);
    for (const bad of ['', '5', '5x', 'm5', '5m ']) expect(() => parseDuration(bad), bad).to.throw(/duration/);
  });

  it('charges an unaccounted volume to the tenant whose prefix it carries (<prefix>-…), the longest prefix, never a tie', () => {
    const tenants = [tenant('a', 'k8s'), tenant('b', 'k8sb'), tenant('c', 'dup'), tenant('d', 'dup'), tenant('e')];
    expect(ownerByPrefix('k8s-0a1b', tenants)).to.equal('a');
    expect(ownerByPrefix('k8sb-0a1b', tenants)).to.equal('b');
    expect(ownerByPrefix('k8sx-0a1b', tenants)).to.equal(undefined);
    expect(ownerByPrefix('dup-1', tenants)).to.equal(undefined);
    expect(ownerByPrefix('other', tenants)).to.equal(undefined);
  });
});
