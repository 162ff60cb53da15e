import { expect } from 'chai';
import type { Operation, VolumeInfo } from '../../arrays/types.js';
import { MemoryLedger } from '../../ledger/memory/memoryLedger.js';
import type { StorageSystem, Tenant } from '../../resources/types.js';
import { applyLedger, type LedgerRequest } from './ledger.js';
import { formatKiB } from './capacity.js';

const GiB = 1024 * 1024;
const system: StorageSystem = { name: 'pf', type: 'powerflex', systemID: 'sys1', endpoint: 'https://a', skipCertificateValidation: false, credentials: { kind: 'secret', name: 's' } };
const tenant: Tenant = { name: 'a', roles: ['r'], approveSdc: false, revoke: false };
const source: VolumeInfo = { id: 'v1', name: 'src', sizeKiB: 8 * GiB, poolId: 'p', poolName: 'bronze' };
const quota = (gib: number) => ({ kind: 'limited', kib: gib * GiB }) as const;

function snapshotRequest(ledger: MemoryLedger, names: string[], gib: number): LedgerRequest {
  const operation: Operation = { kind: 'snapshot-create', snapshots: names.map((snapshotName) => ({ volumeId: 'v1', snapshotName })) };
  return { ledger, tenant, system, operation, enriched: { kind: 'volumes', volumes: names.map(() => source) }, quotas: names.map(() => quota(gib)) };
}

describe('ledger phase', () => {
  it('formats capacities for denial messages', () => {
    expect([formatKiB(100), formatKiB(1536), formatKiB(8 * GiB), formatKiB(1024 * GiB)]).to.deep.equal(['100 KiB', '1.5 MiB', '8 GiB', '1 TiB']);
  });

  it('charges every snapshot or none: a denial releases the ones reserved before it', async () => {
    const ledger = new MemoryLedger();
    await ledger.reserve({ systemType: 'powerflex', systemID: 'sys1', pool: 'bronze', tenant: 'a' }, 'src', 8 * GiB, quota(24));
    const [created] = await ledger.pending(0);
    await ledger.commit(created!.reservation);

    const denied = await applyLedger(snapshotRequest(ledger, ['snap-1', 'snap-2'], 20));
    expect(denied).to.include({ status: 507, reason: 'quota-exceeded' });
    expect(await ledger.pending(0)).to.deep.equal([]);

    const held = await applyLedger(snapshotRequest(ledger, ['snap-1', 'snap-2'], 24));
    expect(held).to.have.property('reservations').with.length(2);
  });

  it('refuses a snapshot of a volume the tenant does not own with 403', async () => {
    const result = await applyLedger(snapshotRequest(new MemoryLedger(), ['snap-1'], 24));
    expect(result).to.deep.equal({ status: 403, reason: 'not-owner', message: 'snapshot denied: volume "src" is not owned by tenant "a"' });
  });

  it('refuses SDC approval for a tenant without approveSdc, and allows it with', async () => {
    const request = (approveSdc: boolean): LedgerRequest => ({ ledger: new MemoryLedger(), tenant: { ...tenant, approveSdc }, system, operation: { kind: 'sdc-approve' }, enriched: { kind: 'none' }, quotas: [] });
    expect(await applyLedger(request(false))).to.include({ status: 403 });
    expect(await applyLedger(request(true))).to.deep.equal({ reservations: [] });
  });
});
