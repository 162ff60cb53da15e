import { expect } from 'chai';
import { parseForwarded } from './forwarded.js';

describe('parseForwarded', () => {
  it('reads the marked sidecar values (Dell sidecar test)', () => {
    expect(parseForwarded('for=csm-authorization;https://powerflex.com;542a2d5f5122210f,by=csm-authorization;powerflex')).to.deep.equal({
      plugin: 'powerflex',
      systemType: 'powerflex',
      endpoint: 'https://powerflex.com',
      systemID: '542a2d5f5122210f',
    });
  });

  it('lets marked values win over an unmarked for= appended later by an ingress', () => {
    const parsed = parseForwarded('for=csm-authorization;https://10.0.0.1;12345, by=csm-authorization;powerflex, for=10.0.0.9;host=ingress.com');
    expect(parsed?.systemID).to.equal('12345');
    expect(parsed?.endpoint).to.equal('https://10.0.0.1');
  });

  it('lets marked values win over an unmarked for= that came first (Dell middleware test)', () => {
    const parsed = parseForwarded('for=10.0.0.1;host=ingress.com,for=csm-authorization;https://10.0.0.1;12345,by=csm-authorization;powerflex');
    expect(parsed).to.include({ endpoint: 'https://10.0.0.1', systemID: '12345', systemType: 'powerflex' });
  });

  it('accepts the legacy unmarked form', () => {
    expect(parseForwarded('for=https://10.0.0.1;542a2d5f5122210f,by=powerflex')).to.include({ systemID: '542a2d5f5122210f', systemType: 'powerflex' });
  });

  it('maps the plugin aliases to system types', () => {
    const typeOf = (by: string) => parseForwarded(`by=csm-authorization;${by}`)?.systemType;
    expect(['csi-vxflexos', 'vxflexos', 'powerflex'].map(typeOf)).to.deep.equal(['powerflex', 'powerflex', 'powerflex']);
    expect(['csi-powermax', 'powermax'].map(typeOf)).to.deep.equal(['powermax', 'powermax']);
    expect(['csi-powerscale', 'isilon', 'powerscale'].map(typeOf)).to.deep.equal(['powerscale', 'powerscale', 'powerscale']);
    expect(typeOf('powerstore')).to.equal('powerstore');
    expect(typeOf('unity')).to.equal(undefined);
    // Fuzz finding: object-prototype names resolved to Object.prototype members.
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) expect(typeOf(name), name).to.equal(undefined);
  });

  it('leaves the systemID empty when for= names only an endpoint', () => {
    expect(parseForwarded('for=csm-authorization;https://10.0.0.1,by=csm-authorization;powerflex')?.systemID).to.equal('');
  });

  it('is undefined without for= or by=', () => {
    expect(parseForwarded(undefined)).to.equal(undefined);
    expect(parseForwarded('')).to.equal(undefined);
    expect(parseForwarded('proto=https;host=x')).to.equal(undefined);
  });
});
