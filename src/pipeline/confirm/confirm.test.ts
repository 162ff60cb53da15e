import { expect } from 'chai';
import type { ArrayAdapter } from '../../arrays/types.js';
import { MemoryLedger } from '../../ledger/memory/memoryLedger.js';
import type { QuotaScope } from '../../ledger/types.js';
import type { ResourceSource, StorageSystem } from '../../resources/types.js';
import { confirmFromAccessLog, resolvePending, type ArraySessions } from './confirm.js';

const scope: QuotaScope = { systemType: 'powerflex', systemID: 'sys1', pool: 'bronze', tenant: 'a' };
const quota = { kind: 'limited', kib: 100 } as const;
const system: StorageSystem = { name: 'pf', type: 'powerflex', systemID: 'sys1', endpoint: 'https://a', skipCertificateValidation: false, credentials: { kind: 'secret', name: 's' } };

async function usage(ledger: MemoryLedger) {
  const [row] = await ledger.usage('a');
  return { used: row?.usedKiB ?? 0, reserved: row?.reservedKiB ?? 0 };
}

async function reserve(ledger: MemoryLedger, volume: string, size = 10): Promise<string> {
  const result = await ledger.reserve(scope, volume, size, quota);
  if (result.status === 'denied') throw new Error('unexpected denial');
  return result.reservation;
}

describe('access-log confirmation', () => {
  it('commits every reservation of a 2xx entry and releases those of any other status', async () => {
    const ledger = new MemoryLedger();
    const confirm = confirmFromAccessLog(ledger);
    const [first, second, failed] = [await reserve(ledger, 'v1'), await reserve(ledger, 'v2'), await reserve(ledger, 'v3')];
    await confirm({ requestId: 'r1', metadata: { reservation: `${first},${second}` }, responseCode: 200 });
    await confirm({ requestId: 'r2', metadata: { reservation: failed }, responseCode: 500 });
    expect(await usage(ledger)).to.deep.equal({ used: 20, reserved: 0 });
  });

  it('leaves a reservation pending for the resolver when Envoy reports no status (client gone first)', async () => {
    const ledger = new MemoryLedger();
    const confirm = confirmFromAccessLog(ledger);
    await confirm({ requestId: 'r1', metadata: { reservation: await reserve(ledger, 'v1') }, responseCode: undefined });
    await confirm({ requestId: 'r2', metadata: { reservation: await reserve(ledger, 'v2') }, responseCode: 0 });
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 20 });
  });

  it('frees a deleted volume on 2xx and keeps it on failure', async () => {
    const ledger = new MemoryLedger();
    const confirm = confirmFromAccessLog(ledger);
    await confirm({ requestId: 'c', metadata: { reservation: await reserve(ledger, 'v1') }, responseCode: 200 });
    const begin = async () => {
      const result = await ledger.beginDelete(scope, 'v1');
      if (result.status !== 'ok') throw new Error('not owner');
      return result.deletion;
    };
    await confirm({ requestId: 'd1', metadata: { deletion: await begin() }, responseCode: 404 });
    expect(await usage(ledger)).to.deep.equal({ used: 10, reserved: 0 });
    await confirm({ requestId: 'd2', metadata: { deletion: await begin() }, responseCode: 200 });
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 0 });
  });
});

describe('access-log report of a session the array refused', () => {
  const resources = {
    current: () => ({ generation: 1, tenants: new Map(), roles: new Map(), storage: new Map([['powerflex/sys1', system]]) }),
  } as unknown as ResourceSource;

  function refusing(rejected: [StorageSystem, string][], adapter: Partial<ArrayAdapter> = {}): ArraySessions {
    const array = { credentialsRejected: (refusedBy: StorageSystem, tag: string) => (rejected.push([refusedBy, tag]), true), ...adapter } as unknown as ArrayAdapter;
    return { resources, adapters: new Map([['powerflex', array]]) };
  }

  it("tells the system's adapter which session the array answered 401 to", async () => {
    const rejected: [StorageSystem, string][] = [];
    const confirm = confirmFromAccessLog(new MemoryLedger(), refusing(rejected));
    await confirm({ requestId: 'r1', metadata: { system: 'powerflex/sys1', 'session-tag': '0123456789abcdef' }, responseCode: 401 });
    expect(rejected).to.deep.equal([[system, '0123456789abcdef']]);
  });

  it('ignores other statuses, entries without a session tag, and systems no longer configured', async () => {
    const rejected: [StorageSystem, string][] = [];
    const confirm = confirmFromAccessLog(new MemoryLedger(), refusing(rejected));
    await confirm({ requestId: 'r1', metadata: { system: 'powerflex/sys1', 'session-tag': 'aa' }, responseCode: 403 });
    await confirm({ requestId: 'r2', metadata: { system: 'powerflex/sys1' }, responseCode: 401 });
    await confirm({ requestId: 'r3', metadata: { system: 'powerflex/gone', 'session-tag': 'aa' }, responseCode: 401 });
    expect(rejected).to.deep.equal([]);
  });

  it('still releases the reservation of a refused create, even when the adapter fails', async () => {
    const ledger = new MemoryLedger();
    const confirm = confirmFromAccessLog(ledger, refusing([], { credentialsRejected: () => { throw new Error('adapter bug'); } }));
    await confirm({ requestId: 'r1', metadata: { system: 'powerflex/sys1', 'session-tag': 'aa', reservation: await reserve(ledger, 'v1') }, responseCode: 401 });
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 0 });
  });
});

describe('resolvePending', () => {
  it('commits a stale reservation whose volume exists on the array and releases one whose volume does not', async () => {
    let now = 1_000_000;
    const ledger = new MemoryLedger({ now: () => now });
    await reserve(ledger, 'exists');
    await reserve(ledger, 'missing');
    now += 120_000;
    const resources = {
      current: () => ({ generation: 1, tenants: new Map(), roles: new Map(), storage: new Map([['powerflex/sys1', system]]) }),
      credentials: async () => ({ username: 'u', password: 'p' }),
    } as unknown as ResourceSource;
    const adapter = { volumeExists: async (_s: StorageSystem, _c: unknown, name: string) => name === 'exists' } as unknown as ArrayAdapter;
    await resolvePending({ ledger, resources, adapters: new Map([['powerflex', adapter]]), olderThanMs: 60_000, intervalMs: 1000 });
    expect(await usage(ledger)).to.deep.equal({ used: 10, reserved: 0 });
    expect(await ledger.pending(0)).to.deep.equal([]);
  });
});
