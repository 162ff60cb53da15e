import { expect } from 'chai';
import type { Role } from '../../resources/types.js';
import { dellQuota, policyRolesData } from './rolesData.js';

const role = (overrides: Partial<Role>): Role => ({
  name: 'gold', systemType: 'powerflex', systemID: '7045c4cc20dffc0f', pool: 'bronze',
  quota: { kind: 'limited', kib: 8388608 }, ...overrides,
});

describe('policyRolesData', () => {
  it("builds Dell's roles shape, merging one role's systems and pools", () => {
    expect(policyRolesData([
      role({}),
      role({ pool: 'silver', quota: { kind: 'unlimited' } }),
      role({ systemType: 'powermax', systemID: '000197900046', pool: 'SRP_1', quota: { kind: 'limited', kib: 1920 } }),
      role({ name: 'silver' }),
    ])).to.deep.equal({
      gold: {
        system_types: {
          powerflex: { system_ids: { '7045c4cc20dffc0f': { pool_quotas: { bronze: 8388608, silver: 0 } } } },
          powermax: { system_ids: { '000197900046': { pool_quotas: { SRP_1: 1920 } } } },
        },
      },
      silver: {
        system_types: { powerflex: { system_ids: { '7045c4cc20dffc0f': { pool_quotas: { bronze: 8388608 } } } } },
      },
    });
  });

  it('is empty for no roles', () => {
    expect(policyRolesData([])).to.deep.equal({});
  });

  it('keeps names such as __proto__ as ordinary keys', () => {
    const data = policyRolesData([role({ name: '__proto__', pool: '__proto__' })]);
    expect(Object.keys(data)).to.deep.equal(['__proto__']);
    expect(JSON.parse(JSON.stringify(data))).to.deep.equal(data);
  });

  it('rejects the same role, system and pool twice instead of picking a quota', () => {
    expect(() => policyRolesData([role({}), role({ quota: { kind: 'unlimited' } })]))
      .to.throw('role gold is defined twice for powerflex/7045c4cc20dffc0f/bronze');
  });
});

describe('dellQuota', () => {
  it('writes unlimited as 0 and a limit as its KiB', () => {
    expect(dellQuota({ kind: 'unlimited' })).to.equal(0);
    expect(dellQuota({ kind: 'limited', kib: 1 })).to.equal(1);
  });

  it('refuses a limited quota that Dell would read as unlimited or that is not whole KiB', () => {
    for (const kib of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      expect(() => dellQuota({ kind: 'limited', kib }), String(kib)).to.throw(/invalid limited quota/);
    }
  });
});
