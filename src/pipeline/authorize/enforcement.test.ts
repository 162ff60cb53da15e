// Report-only enforcement: how the mode is resolved, and what the policy phase lets through in it
// (the real compiled policies, as the service runs them).
import { expect } from 'chai';
import type { Operation, VolumeInfo } from '../../arrays/types.js';
import type { Role, StorageSystem, Tenant } from '../../resources/types.js';
import type { TokenClaims } from '../../tokens/types.js';
import { WasmPolicyEngine } from '../policy/wasmEngine.js';
import { isRejection } from '../response/deny.js';
import { authorizeCreate, authorizeSnapshots } from './authorize.js';
import { enforcementOf } from './enforcement.js';
import { liveClaims, snapshotCreateQuery, volumeCreateQuery, volumeExpandQuery } from './inputs.js';

const GiB = 1024 * 1024;
const system: StorageSystem = { name: 'pf', type: 'powerflex', systemID: 'sys1', endpoint: 'https://array', skipCertificateValidation: false, credentials: { kind: 'secret', name: 's' } };
const role = (name: string, pool: string, enforcement?: Role['enforcement'], kib = 8 * GiB): Role => ({
  name, systemType: 'powerflex', systemID: 'sys1', pool, quota: { kind: 'limited', kib }, ...(enforcement && { enforcement }),
});
const tenant = (roles: string[], enforcement?: Tenant['enforcement']): Tenant => ({ name: 'team-a', roles, approveSdc: false, revoke: false, ...(enforcement && { enforcement }) });
const claims = (t: Tenant): TokenClaims => liveClaims({ iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant', group: t.name, roles: '', exp: 4102444800 }, t);
const create = (sizeKiB: number): Extract<Operation, { kind: 'volume-create' }> => ({ kind: 'volume-create', poolId: 'p1', sizeKiB, name: 'k8s-1' });

describe('enforcementOf: which mode applies to a tenant on a pool', () => {
  const roles = [role('gold', 'bronze', 'report'), role('silver', 'bronze'), role('copper', 'silver', 'report')];

  it('is enforce by default, and when any role granting the pool enforces', () => {
    expect(enforcementOf(tenant([]), [], system, 'bronze')).to.equal('enforce');
    expect(enforcementOf(tenant(['gold', 'silver']), roles.slice(0, 2), system, 'bronze')).to.equal('enforce');
  });

  it('is report when every role granting the pool says report (other pools and systems do not count)', () => {
    expect(enforcementOf(tenant(['gold']), [roles[0]!], system, 'bronze')).to.equal('report');
    expect(enforcementOf(tenant(['silver', 'copper']), roles.slice(1), system, 'silver')).to.equal('report');
    expect(enforcementOf(tenant(['gold']), [roles[0]!], { ...system, systemID: 'sys2' }, 'bronze')).to.equal('enforce');
  });

  it("follows the tenant's own enforcement over its roles, either way", () => {
    expect(enforcementOf(tenant(['silver'], 'report'), [roles[1]!], system, 'bronze')).to.equal('report');
    expect(enforcementOf(tenant(['gold'], 'enforce'), [roles[0]!], system, 'bronze')).to.equal('enforce');
  });
});

describe('authorize in report mode (real compiled policies)', () => {
  let engine: WasmPolicyEngine;
  const t = tenant(['gold']);

  beforeEach(async () => {
    engine = await WasmPolicyEngine.load();
    engine.setRoles([role('gold', 'bronze', 'report')]);
  });

  it('lets a create larger than the quota through, held to the role quota marked report, with the 400 it would have been', () => {
    const decided = authorizeCreate(engine, volumeCreateQuery(claims(t), system, create(16 * GiB), 'bronze'), 'report');
    if (isRejection(decided)) expect.fail(decided.message);
    expect(decided.quotas).to.deep.equal([{ kind: 'limited', kib: 8 * GiB, enforcement: 'report' }]);
    expect(decided.wouldDeny).to.include({ status: 400, reason: 'policy-denied' });
    expect(decided.wouldDeny?.message).to.match(/no roles in \[gold\] allow the 16777216 Kb request/);
  });

  it('marks the quota of a create that fits, so the ledger reports rather than refuses', () => {
    const decided = authorizeCreate(engine, volumeCreateQuery(claims(t), system, create(4 * GiB), 'bronze'), 'report');
    expect(decided).to.deep.equal({ quotas: [{ kind: 'limited', kib: 8 * GiB, enforcement: 'report' }] });
  });

  it('still refuses what is not about size: a pool no role grants, an invalid size', () => {
    const otherPool = authorizeCreate(engine, volumeCreateQuery(claims(t), system, create(GiB), 'silver'), 'report');
    expect(otherPool).to.include({ status: 400, reason: 'policy-denied' });
    const badSize = authorizeCreate(engine, { ...volumeCreateQuery(claims(t), system, create(GiB), 'bronze'), input: { ...volumeCreateQuery(claims(t), system, create(GiB), 'bronze').input, request: { volumeSizeInKb: '-5' } } }, 'report');
    expect(badSize).to.include({ status: 400, reason: 'policy-denied' });
    expect((badSize as { message: string }).message).to.match(/invalid volumeSizeInKb/);
  });

  it('refuses the same create in enforce mode, as today', () => {
    expect(authorizeCreate(engine, volumeCreateQuery(claims(t), system, create(16 * GiB), 'bronze'), 'enforce')).to.include({ status: 400, reason: 'policy-denied' });
  });

  it('lets an expansion and a snapshot past the quota through, still refusing a shrink', () => {
    const volume: VolumeInfo = { id: 'v1', name: 'k8s-1', sizeKiB: 4 * GiB, poolId: 'p1', poolName: 'bronze' };
    const grown = authorizeCreate(engine, volumeExpandQuery(claims(t), system, volume, 12 * GiB), 'report');
    expect(grown).to.have.property('wouldDeny');
    expect(authorizeCreate(engine, volumeExpandQuery(claims(t), system, volume, 2 * GiB), 'report')).to.include({ reason: 'policy-denied' });
    const big: VolumeInfo = { ...volume, sizeKiB: 12 * GiB };
    const snapshot = { kind: 'snapshot-create' as const, snapshots: [{ volumeId: 'v1', snapshotName: 'snap-1' }] };
    const snapped = authorizeSnapshots(engine, snapshotCreateQuery(claims(t), system, snapshot, [big]), ['snap-1'], 'report');
    if (isRejection(snapped)) expect.fail(snapped.message);
    expect(snapped.quotas).to.deep.equal([{ kind: 'limited', kib: 8 * GiB, enforcement: 'report' }]);
    expect(snapped.wouldDeny).to.include({ reason: 'policy-denied' });
  });
});
