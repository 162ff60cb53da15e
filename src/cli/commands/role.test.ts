import { expect } from 'chai';
import { CliError } from '../errors.js';
import { karavictlRole } from './role.js';

describe("authzctl role create --role (karavictl's form)", () => {
  it('reads name=type=id=pool=quota; a bare-number quota is KB of 1000 bytes as in Dell, a unit is kept, 0 stays unlimited', () => {
    expect(karavictlRole('gold=powerflex=7045c4cc20dffc0f=bronze=10000000')).to.deep.equal({ name: 'gold', systemType: 'powerflex', systemId: '7045c4cc20dffc0f', pool: 'bronze', quota: '10000000KB' });
    expect(karavictlRole('gold=powerflex=7045c4cc20dffc0f=bronze=9GB').quota).to.equal('9GB');
    expect(karavictlRole('any=powerflex=7045c4cc20dffc0f=bronze=0').quota).to.equal('0');
    expect(karavictlRole('ps=powerstore=PS000000000001==100GiB').pool).to.equal('');
  });

  it('names the expected form when a part is missing', () => {
    for (const value of ['gold=powerflex=7045c4cc20dffc0f=bronze', 'gold=powerflex==bronze=9GB', '=powerflex=id=pool=1']) {
      expect(() => karavictlRole(value)).to.throw(CliError, /expected name=type=system-id=pool=quota/);
    }
  });
});
