import { expect } from 'chai';
import type { AdapterRegistry } from '../../arrays/registry.js';
import type { ArrayAdapter } from '../../arrays/types.js';
import { isRejection } from '../response/deny.js';
import { resolveArray } from './target.js';

const adapter = (type: ArrayAdapter['type']) => ({ type }) as ArrayAdapter;
const forwarded = (systemID: string, plugin = 'csi-vxflexos') => `for=csm-authorization;https://10.0.0.1;${systemID},by=csm-authorization;${plugin}`;

describe('resolveArray', () => {
  it('resolves each Forwarded value to its adapter and system, the same answer every time', () => {
    const registry: AdapterRegistry = new Map([['powerflex', adapter('powerflex')]]);
    const first = resolveArray(forwarded('7045c4cc20dffc0f'), registry);
    expect(isRejection(first)).to.equal(false);
    expect(resolveArray(forwarded('7045c4cc20dffc0f'), registry)).to.deep.equal(first);
    expect(resolveArray(forwarded('7045c4cc20dffc0f'), registry)).to.include({ adapter: registry.get('powerflex') });
  });

  it('answers by the registry it is given: a type one registry lacks is unsupported there only', () => {
    const withPowerStore: AdapterRegistry = new Map([['powerstore', adapter('powerstore')]]);
    const without: AdapterRegistry = new Map([['powerflex', adapter('powerflex')]]);
    const value = forwarded('PS4ebb8d4e8a5b', 'csi-powerstore');
    expect(resolveArray(value, withPowerStore)).to.have.property('adapter', withPowerStore.get('powerstore'));
    expect(resolveArray(value, without)).to.include({ status: 502, reason: 'unsupported-array-type' });
  });

  it('keeps answering correctly past the number of values it remembers (a tenant sending a new value each time)', () => {
    const registry: AdapterRegistry = new Map([['powerflex', adapter('powerflex')]]);
    for (let i = 0; i < 3000; i++) {
      const target = resolveArray(forwarded(`system-${i}`), registry);
      expect(target).to.have.nested.property('forwarded.systemID', `system-${i}`);
    }
    expect(resolveArray(forwarded('x', 'no-such-plugin'), registry)).to.include({ status: 502, reason: 'unknown-plugin' });
    expect(resolveArray(undefined, registry)).to.include({ status: 400, reason: 'missing-forwarded' });
  });
});
