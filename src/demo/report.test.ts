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

  it('lines up the steps in columns', () => {
    const printed = stepsTable([
      { tenant: 'team-a', action: 'create k8s-1 (8 GiB)', reply: { status: 200, body: {} } },
      { tenant: 'team-b', action: 'delete k8s-1', reply: { status: 403, body: { message: 'request denied' } } },
    ]);
    expect(printed.split('\n')).to.deep.equal([
      'tenant  driver call           result',
      '------  --------------------  --------------------------',
      'team-a  create k8s-1 (8 GiB)  allowed',
      'team-b  delete k8s-1          DENIED 403: request denied',
    ]);
  });

  it('shows usage (committed plus reserved) against the quota in GiB', () => {
    const printed = usageTable(
      [{ tenant: 'team-a', systemType: 'powerflex', systemID: 'sys', pool: 'bronze', usedKiB: 16 * 1024 * 1024, reservedKiB: 0, volumes: 2 }],
      () => 32 * 1024 * 1024,
    );
    expect(printed.split('\n')[2]).to.equal('team-a  sys     bronze  16 GiB  32 GiB  2');
  });
});
