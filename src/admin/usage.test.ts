import { expect } from 'chai';
import type { UsageRow, VolumeRow } from '../ledger/types.js';
import { tallyOf } from '../reconcile/findings.js';
import type { DriftFinding } from '../reconcile/types.js';
import type { ResourceSnapshot, Role, Tenant } from '../resources/types.js';
import { usageReport, volumesReport } from './usage.js';

const NO_DRIFT = { missingOnArray: 0, unaccountedOnArray: 0, sizeMismatch: 0, unrepaired: 0 };

const GiB = 1024 * 1024;

function role(name: string, pool: string, quota: Role['quota'], systemID = 'sys1'): Role {
  return { name, systemType: 'powerflex', systemID, pool, quota };
}

function snapshot(tenants: Tenant[], roles: Role[]): ResourceSnapshot {
  return {
    generation: 1,
    tenants: new Map(tenants.map((t) => [t.name, t])),
    roles: new Map(roles.map((r) => [r.name, r])),
    storage: new Map(),
  };
}

const tenant = (name: string, roles: string[]): Tenant => ({ name, roles, approveSdc: false, revoke: false });
const used = (tenantName: string, pool: string, usedKiB: number, reservedKiB = 0, volumes = 1): UsageRow => ({
  tenant: tenantName, systemType: 'powerflex', systemID: 'sys1', pool, usedKiB, reservedKiB, volumes,
});

describe('admin usage report', () => {
  it("shows a new tenant's quota with nothing used yet", () => {
    const rows = usageReport(snapshot([tenant('t1', ['gold'])], [role('gold', 'bronze', { kind: 'limited', kib: 100 * GiB })]), []);
    expect(rows).to.deep.equal([
      { tenant: 't1', systemType: 'powerflex', systemID: 'sys1', pool: 'bronze', roles: ['gold'], quotaKiB: 100 * GiB, usedKiB: 0, reservedKiB: 0, freeKiB: 100 * GiB, volumes: 0, drift: NO_DRIFT, enforcement: 'enforce', overQuotaKiB: 0 },
    ]);
  });

  it('subtracts used and reserved capacity from the quota to give what is free', () => {
    const rows = usageReport(snapshot([tenant('t1', ['gold'])], [role('gold', 'bronze', { kind: 'limited', kib: 100 * GiB })]), [used('t1', 'bronze', 30 * GiB, 8 * GiB, 4)]);
    expect(rows[0]).to.include({ usedKiB: 30 * GiB, reservedKiB: 8 * GiB, freeKiB: 62 * GiB, volumes: 4 });
  });

  it('takes the largest quota of the roles granting a pool, and unlimited when any is 0', () => {
    const roles = [role('small', 'bronze', { kind: 'limited', kib: 10 * GiB }), role('big', 'bronze', { kind: 'limited', kib: 50 * GiB }), role('all', 'silver', { kind: 'limited', kib: 1 }), role('free', 'silver', { kind: 'unlimited' })];
    const rows = usageReport(snapshot([tenant('t1', ['small', 'big', 'all', 'free'])], roles), []);
    expect(rows.map((r) => [r.pool, r.roles, r.quotaKiB, r.freeKiB])).to.deep.equal([
      ['bronze', ['big', 'small'], 50 * GiB, 50 * GiB],
      ['silver', ['all', 'free'], null, null],
    ]);
  });

  it('never reports negative free capacity when usage exceeds a lowered quota', () => {
    const rows = usageReport(snapshot([tenant('t1', ['gold'])], [role('gold', 'bronze', { kind: 'limited', kib: 10 * GiB })]), [used('t1', 'bronze', 20 * GiB)]);
    expect(rows[0]?.freeKiB).to.equal(0);
  });

  it('marks a scope report mode let past its quota, by how much, with its enforcement', () => {
    const reporting: Role = { ...role('gold', 'bronze', { kind: 'limited', kib: 10 * GiB }), enforcement: 'report' };
    const rows = usageReport(snapshot([tenant('t1', ['gold']), tenant('t2', ['gold'])], [reporting]), [used('t1', 'bronze', 16 * GiB, 2 * GiB), used('t2', 'bronze', 4 * GiB)]);
    expect(rows.map((r) => [r.tenant, r.enforcement, r.overQuotaKiB])).to.deep.equal([
      ['t1', 'report', 8 * GiB],
      ['t2', 'report', 0],
    ]);
  });

  it('keeps capacity held in a pool that no role grants any more, with no quota', () => {
    const rows = usageReport(snapshot([tenant('t1', [])], []), [used('t1', 'bronze', 5 * GiB)]);
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ pool: 'bronze', quotaKiB: 0, freeKiB: 0, usedKiB: 5 * GiB });
    expect(rows[0]?.roles).to.deep.equal([]);
  });

  it('filters to one tenant', () => {
    const roles = [role('gold', 'bronze', { kind: 'limited', kib: GiB })];
    const rows = usageReport(snapshot([tenant('t1', ['gold']), tenant('t2', ['gold'])], roles), [used('t2', 'bronze', 1)], 't1');
    expect(rows.map((r) => r.tenant)).to.deep.equal(['t1']);
  });

  it('lists each volume by name with its size and state, sorted by tenant, system, pool and name', () => {
    const volume = (tenantName: string, systemID: string, pool: string, name: string, state: VolumeRow['state'] = 'committed'): VolumeRow => ({
      tenant: tenantName, systemType: 'powerflex', systemID, pool, volume: name, sizeKiB: 8 * GiB, state,
    });
    const rows = volumesReport([
      volume('t2', 'sys1', 'bronze', 'a'),
      volume('t1', 'sys2', 'bronze', 'a'),
      volume('t1', 'sys1', 'silver', 'a', 'deleting'),
      volume('t1', 'sys1', 'bronze', 'k8s-2', 'reserved'),
      volume('t1', 'sys1', 'bronze', 'k8s-1'),
    ]);
    expect(rows.map((r) => [r.tenant, r.systemID, r.pool, r.name, r.state])).to.deep.equal([
      ['t1', 'sys1', 'bronze', 'k8s-1', 'committed'],
      ['t1', 'sys1', 'bronze', 'k8s-2', 'reserved'],
      ['t1', 'sys1', 'silver', 'a', 'deleting'],
      ['t1', 'sys2', 'bronze', 'a', 'committed'],
      ['t2', 'sys1', 'bronze', 'a', 'committed'],
    ]);
    expect(rows[0]).to.deep.equal({ tenant: 't1', systemType: 'powerflex', systemID: 'sys1', pool: 'bronze', name: 'k8s-1', sizeKiB: 8 * GiB, state: 'committed' });
  });
  it("counts the last reconciliation's findings per tenant and pool, and those not repaired", () => {
    const finding = { systemType: 'powerflex' as const, systemID: 'sys1', pool: 'bronze', volume: 'v', tenant: 't1' };
    const findings: DriftFinding[] = [
      { ...finding, kind: 'missing-on-array', repaired: true },
      { ...finding, kind: 'unaccounted-on-array', repaired: false },
      { ...finding, kind: 'unaccounted-on-array', tenant: undefined, repaired: false },
    ];
    const rows = usageReport(snapshot([tenant('t1', ['gold'])], [role('gold', 'bronze', { kind: 'limited', kib: 100 * GiB })]), [], 't1', tallyOf({ findings }));
    expect(rows[0]!.drift).to.deep.equal({ missingOnArray: 1, unaccountedOnArray: 1, sizeMismatch: 0, unrepaired: 1 });
  });
});
