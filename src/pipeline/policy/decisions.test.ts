import { expect } from 'chai';
import { effectiveQuota, readResponseDecision, readSnapshotCreateDecision, readVolumeCreateDecision } from './decisions.js';

describe('effectiveQuota', () => {
  it('is the largest quota among the permitted roles', () => {
    expect(effectiveQuota({ small: 8388608, large: 16777216 })).to.deep.equal({ kind: 'limited', kib: 16777216 });
  });

  it('is unlimited when any permitted role has quota 0, however large the others', () => {
    expect(effectiveQuota({ large: 838860800, unlimited: 0 })).to.deep.equal({ kind: 'unlimited' });
  });

  it('refuses no permitted roles and quotas that are not whole KiB', () => {
    expect(() => effectiveQuota({})).to.throw(/no permitted roles/);
    expect(() => effectiveQuota({ a: -1 })).to.throw(/invalid quota -1/);
    expect(() => effectiveQuota({ a: 1.5 })).to.throw(/invalid quota 1.5/);
  });
});

describe('readVolumeCreateDecision', () => {
  it('reads an allow with its permitted roles', () => {
    expect(readVolumeCreateDecision({ allow: true, deny: [], permitted_roles: { a: 10 } }))
      .to.deep.equal({ allowed: true, reasons: [], permittedRoles: { a: 10 } });
  });

  it('is not allowed when deny messages are present or no role permits, whatever allow says', () => {
    expect(readVolumeCreateDecision({ allow: true, deny: ['no configured roles'], permitted_roles: { a: 10 } }).allowed).to.equal(false);
    expect(readVolumeCreateDecision({ allow: true, deny: [], permitted_roles: {} }).allowed).to.equal(false);
  });

  it('rejects a malformed document', () => {
    expect(() => readVolumeCreateDecision({ deny: [], permitted_roles: {} })).to.throw('malformed policy decision: allow is not a boolean');
    expect(() => readVolumeCreateDecision({ allow: true, deny: 'x', permitted_roles: {} })).to.throw(/deny is not a list/);
    expect(() => readVolumeCreateDecision({ allow: true, deny: [], permitted_roles: { a: '10' } })).to.throw(/permitted_roles.a is not a number/);
  });
});

describe('readSnapshotCreateDecision', () => {
  it('reads each snapshot’s permitting roles and quotas', () => {
    expect(readSnapshotCreateDecision({
      allow: true,
      deny: [],
      permitted_roles: { 'sn-1': [{ role: 'a', size: 0, storagepool: 'bronze' }, { role: 'b', size: 8, storagepool: 'bronze' }] },
    })).to.deep.equal({ allowed: true, reasons: [], permittedRoles: { 'sn-1': { a: 0, b: 8 } } });
  });

  it('rejects entries without role and size', () => {
    expect(() => readSnapshotCreateDecision({ allow: true, deny: [], permitted_roles: { s: [{ role: 'a' }] } }))
      .to.throw(/permitted_roles.s has an entry without role and size/);
  });
});

describe('readResponseDecision', () => {
  it("reads Dell's response document and the tenant group", () => {
    expect(readResponseDecision({ response: { allowed: false, status: { reason: 'missing claims' } }, claims: {} }))
      .to.deep.equal({ allowed: false, reason: 'missing claims', group: '' });
    expect(readResponseDecision({ response: { allowed: true }, claims: { group: 'tenant-a' } }))
      .to.deep.equal({ allowed: true, reason: '', group: 'tenant-a' });
  });

  it('rejects a document without response.allowed', () => {
    expect(() => readResponseDecision({ claims: {} })).to.throw(/response.allowed is not a boolean/);
  });
});
