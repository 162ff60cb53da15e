import { expect } from 'chai';
import { API_VERSION } from '../types.js';
import { accept, type ObservedObject } from './accept.js';

const object = (kind: ObservedObject['kind'], name: string, spec: Record<string, unknown>, generation = 1): ObservedObject => ({
  kind,
  name,
  generation,
  document: { apiVersion: API_VERSION, kind, metadata: { name, namespace: 'ns', generation, resourceVersion: '7' }, spec, status: {} },
});
const storage = object('Storage', 'pf', { type: 'powerflex', endpoint: 'https://a', systemID: 's1', skipCertificateValidation: false, storageSystemCredentials: { secret: 'c' } });
const role = (quota: string, generation = 1) => object('CSMRole', 'gold', { quota, systemType: 'powerflex', systemID: 's1', pool: 'p' }, generation);
const tenant = (roles: string, generation = 1) => object('CSMTenant', 't', { roles, approveSdc: false, revoke: false }, generation);

describe('accept (Kubernetes objects, one verdict each)', () => {
  it('accepts a consistent set: every object Ready', () => {
    const result = accept([storage, role('1TiB'), tenant('gold')], new Map(), 1, 'namespace ns');
    expect(result.snapshot.tenants.get('t')?.roles).to.deep.equal(['gold']);
    expect([...result.verdicts.values()].every((v) => v.ready && v.reason === 'Accepted')).to.equal(true);
  });

  it('keeps the last accepted version of an object whose new version is invalid', () => {
    const first = accept([storage, role('1TiB'), tenant('gold')], new Map(), 1, 'namespace ns');
    const second = accept([storage, role('1TB7', 2), tenant('gold')], first.accepted, 2, 'namespace ns');
    expect(second.snapshot.roles.get('gold')?.quota).to.deep.equal({ kind: 'limited', kib: 1024 * 1024 * 1024 });
    expect(second.verdicts.get('CSMRole/gold')).to.deep.equal({
      ready: false,
      reason: 'Invalid',
      message: 'spec.quota: "1TB7" is not a size (e.g. 100GiB, 10TiB, 500MiB, 10GB, or 0 for unlimited). The last accepted version stays in force.',
      observedGeneration: 2,
    });
    expect(second.verdicts.get('CSMTenant/t')?.ready).to.equal(true);
  });

  it('reverts an edit whose reference does not resolve, and leaves out a new object whose reference does not', () => {
    const first = accept([storage, role('1TiB'), tenant('gold')], new Map(), 1, 'namespace ns');
    const second = accept([storage, role('1TiB'), tenant('gold,silver', 2), object('CSMTenant', 'new', { roles: 'bronze', approveSdc: false, revoke: false })], first.accepted, 2, 'namespace ns');
    expect(second.snapshot.tenants.get('t')?.roles).to.deep.equal(['gold']);
    expect(second.snapshot.tenants.has('new')).to.equal(false);
    expect(second.verdicts.get('CSMTenant/t')).to.include({ ready: false, reason: 'Unresolved', message: 'spec.roles: role "silver" does not exist (no CSMRole named "silver"). The last accepted version stays in force.' });
    expect(second.verdicts.get('CSMTenant/new')).to.include({ ready: false, reason: 'Unresolved', message: 'spec.roles: role "bronze" does not exist (no CSMRole named "bronze"). Not in force until this is fixed.' });
  });

  it('leaves out (fail closed) an unchanged tenant whose role was deleted', () => {
    const first = accept([storage, role('1TiB'), tenant('gold')], new Map(), 1, 'namespace ns');
    const second = accept([storage, tenant('gold')], first.accepted, 2, 'namespace ns');
    expect(second.snapshot.tenants.size).to.equal(0);
    expect(second.verdicts.get('CSMTenant/t')).to.include({ ready: false, reason: 'Unresolved' });
  });
});
