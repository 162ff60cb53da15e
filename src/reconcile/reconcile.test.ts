import { expect } from 'chai';
import type { AdapterRegistry } from '../arrays/registry.js';
import type { ArrayAdapter, VolumeInfo } from '../arrays/types.js';
import { MemoryLedger } from '../ledger/memory/memoryLedger.js';
import type { QuotaScope } from '../ledger/types.js';
import type { ResourceSource, StorageReport, StorageSystem, Tenant } from '../resources/types.js';
import { parseDuration } from './duration.js';
import { createReconciler, DEFAULT_POLL_INTERVAL_MS, ownerByPrefix, pollIntervalMs } from './reconcile.js';
import { MAX_LISTED_FINDINGS } from './types.js';

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

/** One PowerFlex Storage (system abc) and its credentials: what each pass below reconciles. */
const storage = { name: 'pflex', type: 'powerflex', systemID: 'abc' } as StorageSystem;
const resources: ResourceSource = {
  current: () => ({ generation: 1, tenants: new Map(), roles: new Map(), storage: new Map([['powerflex/abc', storage]]) }),
  onChange: () => () => undefined,
  credentials: async () => ({ username: 'u', password: 'p' }),
};

describe('reconciliation outcome in the Storage status', () => {
  const passWith = async (inventory: () => Promise<VolumeInfo[]>) => {
    const reports: [string, StorageReport][] = [];
    const adapter = { type: 'powerflex', inventory: async function* () { yield* await inventory(); }, findVolume: async () => undefined } as unknown as ArrayAdapter;
    const reconciler = createReconciler({
      ledger: new MemoryLedger(),
      resources,
      adapters: { get: (type: string) => (type === 'powerflex' ? adapter : undefined) } as unknown as AdapterRegistry,
      mode: 'report',
      settleAfterMs: 60_000,
      now: () => 1_700_000_000_000,
      status: { reportStorage: (name, report) => reports.push([name, report]) },
    });
    await reconciler.runOnce();
    await reconciler.stop();
    return reports;
  };

  it('reports a listed array as reachable, with the time of the pass', async () => {
    expect(await passWith(async () => [])).to.deep.equal([
      ['pflex', { reachable: true, message: 'reconciled: 0 drift finding(s), mode report', lastReconciliation: new Date(1_700_000_000_000) }],
    ]);
  });

  it("reports an array that cannot be listed as unreachable, with the array's error", async () => {
    const [[name, report]] = (await passWith(async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:443')))) as [[string, StorageReport]];
    expect(name).to.equal('pflex');
    expect(report).to.include({ reachable: false, message: 'connect ECONNREFUSED 127.0.0.1:443' });
  });
});

describe('a repair pass', () => {
  it('repairs every finding a tenant owns, listed or not: more than MAX_LISTED_FINDINGS volumes deleted out of band are freed in one pass', async () => {
    const ledger = new MemoryLedger();
    const scope: QuotaScope = { systemType: 'powerflex', systemID: 'abc', pool: 'bronze', tenant: 'team-a' };
    const deleted = MAX_LISTED_FINDINGS + 200;
    for (let i = 0; i < deleted; i++) {
      const reserved = await ledger.reserve(scope, `k8s-${i}`, 8, { kind: 'unlimited' });
      if (reserved.status !== 'approved') throw new Error(`not reserved: ${reserved.status}`);
      await ledger.commit(reserved.reservation);
    }
    // The array has none of them any more.
    const adapter = { type: 'powerflex', inventory: async function* () {}, findVolume: async () => undefined } as unknown as ArrayAdapter;
    const reconciler = createReconciler({
      ledger, resources, adapters: { get: () => adapter } as unknown as AdapterRegistry, mode: 'repair', settleAfterMs: 0, now: () => Date.now() + 60_000,
    });
    const [report] = await reconciler.runOnce();
    await reconciler.stop();
    expect(await ledger.volumes()).to.deep.equal([]);
    expect(report!.findingsTotal).to.equal(deleted);
    expect(report!.findings).to.have.length(MAX_LISTED_FINDINGS);
    expect(report!.findings.every((finding) => finding.repaired)).to.equal(true);
    expect(report!.tally.map(({ kind, count, unrepaired }) => [kind, count, unrepaired])).to.deep.equal([['missing-on-array', deleted, 0]]);
  });
});
