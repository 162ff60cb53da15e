import { expect } from 'chai';
import { outcome, stepsTable, usageTable } from './report.js';

describe('demo report', () => {
  it('says allowed for a 2xx and gives status and message for a denial in any error shape', () => {
    expect(outcome({ status: 200, body: { id: 'x' } })).to.equal('allowed');
    expect(outcome({ status: 507, body: { errorCode: 507, httpStatusCode: 507, message: 'request denied: not enough quota' } }))
      .to.equal('DENIED 507: request denied: not enough quota');
    expect(outcome({ status: 401, body: { error: 'token expired', code: 401 } })).to.equal('DENIED 401: token expired');
    expect(outcome({ status: 503, body: 'upstream connect error' })).to.equal('DENIED 503: upstream connect error');
  });

  it('lists each driver call with its result', () => {
    const lines = stepsTable([
      { tenant: 'team-a', action: 'create k8s-1 (8 GiB)', reply: { status: 200, body: {} } },
      { tenant: 'team-b', action: 'delete k8s-1', reply: { status: 403, body: { message: 'request denied' } } },
    ]).split('\n');
    expect(lines[1]).to.match(/^team-a\s+create k8s-1 \(8 GiB\)\s+allowed$/);
    expect(lines[2]).to.match(/^team-b\s+delete k8s-1\s+DENIED 403: request denied$/);
  });

  it('shows usage (committed plus reserved) against the quota', () => {
    const drift = { missingOnArray: 0, unaccountedOnArray: 0, sizeMismatch: 0, unrepaired: 0 };
    const row = { tenant: 'team-a', systemType: 'powerflex' as const, systemID: 'sys', pool: 'bronze', roles: ['r'], volumes: 2, freeKiB: 0, drift, enforcement: 'enforce' as const, overQuotaKiB: 0 };
    const lines = usageTable([
      { ...row, usedKiB: 16 * 1024 * 1024, reservedKiB: 8 * 1024 * 1024, quotaKiB: 32 * 1024 * 1024 },
      { ...row, tenant: 'team-b', usedKiB: 0, reservedKiB: 0, quotaKiB: null, freeKiB: null, volumes: 0 },
    ]).split('\n');
    expect(lines[1]).to.match(/^team-a\s+bronze\s+24GiB\s+32GiB\s+2$/);
    expect(lines[2]).to.match(/^team-b\s+bronze\s+0KiB\s+unlimited\s+0$/);
  });
});
