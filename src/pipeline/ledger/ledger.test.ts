import { expect } from 'chai';
import type { Operation, VolumeInfo } from '../../arrays/types.js';
import { MemoryLedger } from '../../ledger/memory/memoryLedger.js';
import type { StorageSystem, Tenant } from '../../resources/types.js';
import { OPERATIONS, type OperationContext } from '../operations.js';
import { applyLedger, type LedgerHold } from './ledger.js';
import { formatKiB } from './capacity.js';

const GiB = 1024 * 1024;
const system: StorageSystem = { name: 'pf', type: 'powerflex', systemID: 'sys1', endpoint: 'https://a', skipCertificateValidation: false, credentials: { kind: 'secret', name: 's' } };
const tenant: Tenant = { name: 'a', roles: ['r'], approveSdc: false, revoke: false };
const source: VolumeInfo = { id: 'v1', name: 'src', sizeKiB: 8 * GiB, poolId: 'p', poolName: 'bronze' };
const quota = (gib: number) => ({ kind: 'limited', kib: gib * GiB }) as const;

const contextOf = (ledger: MemoryLedger, who: Tenant = tenant) => ({ ledger, tenant: who, system }) as unknown as OperationContext;

/** The snapshot entry's ledger effect, as the pipeline runs it. */
function snapshot(ledger: MemoryLedger, names: string[], gib: number) {
  const operation = { kind: 'snapshot-create', snapshots: names.map((snapshotName) => ({ volumeId: 'v1', snapshotName })) } satisfies Operation;
  return applyLedger(() => OPERATIONS['snapshot-create'].ledger(contextOf(ledger), operation, names.map(() => source), names.map(() => quota(gib))));
}

describe('ledger phase', () => {
  it('formats capacities for denial messages', () => {
    expect([formatKiB(100), formatKiB(1536), formatKiB(8 * GiB), formatKiB(1024 * GiB)]).to.deep.equal(['100 KiB', '1.5 MiB', '8 GiB', '1 TiB']);
  });

  it('charges every snapshot or none: a denial releases the ones reserved before it', async () => {
    const ledger = new MemoryLedger();
    await ledger.reserve({ systemType: 'powerflex', systemID: 'sys1', pool: 'bronze', tenant: 'a' }, 'src', 8 * GiB, quota(24));
    const [created] = await ledger.pending(0);
    await ledger.commit(created!.id);

    const denied = await snapshot(ledger, ['snap-1', 'snap-2'], 20);
    expect(denied).to.include({ status: 507, reason: 'quota-exceeded' });
    expect(await ledger.pending(0)).to.deep.equal([]);

    const held = (await snapshot(ledger, ['snap-1', 'snap-2'], 24)) as LedgerHold;
    expect(held.holds).to.have.length(2);
  });

  it('refuses a snapshot of a volume the tenant does not own with 403', async () => {
    const result = await snapshot(new MemoryLedger(), ['snap-1'], 24);
    expect(result).to.deep.equal({ status: 403, reason: 'not-owner', message: 'snapshot denied: volume "src" is not owned by tenant "a"' });
  });

  it('lets the tenant map, unmap and snapshot a volume it reserved a moment ago (the create not yet confirmed)', async () => {
    const ledger = new MemoryLedger();
    await ledger.reserve({ systemType: 'powerflex', systemID: 'sys1', pool: 'bronze', tenant: 'a' }, 'src', 8 * GiB, quota(24));
    const map = await OPERATIONS['volume-map'].ledger(contextOf(ledger), { kind: 'volume-map', volumeId: 'v1' }, source, []);
    const unmapByOther = await OPERATIONS['volume-unmap'].ledger(contextOf(ledger, { ...tenant, name: 'b' }), { kind: 'volume-unmap', volumeId: 'v1' }, source, []);
    expect(map).to.deep.equal({ holds: [], hints: [] });
    expect(unmapByOther).to.include({ status: 403 });
    expect(await snapshot(ledger, ['snap-1'], 24)).to.have.property('holds').with.length(1);
  });

  it('refuses SDC approval for a tenant without approveSdc, and allows it with', async () => {
    const approve = (approveSdc: boolean) => OPERATIONS['sdc-approve'].ledger(contextOf(new MemoryLedger(), { ...tenant, approveSdc }), { kind: 'sdc-approve' }, undefined, []);
    expect(await approve(false)).to.include({ status: 403 });
    expect(await approve(true)).to.deep.equal({ holds: [], hints: [] });
  });
});
