// Property tests (fast-check, bounded runs) of the Forwarded parser, which reads a header any tenant
// or ingress can write: it never throws, resolves only known plugins, and the sidecar's marked
// values win over whatever else is in the header.
import { expect } from 'chai';
import fc from 'fast-check';
import { SYSTEM_TYPES } from '../../resources/types.js';
import { parseForwarded } from './forwarded.js';

const PIECES = ['for=', 'by=', 'host=', 'proto=', 'csm-authorization;', ';', ',', '"', '=', ' ', 'https://10.0.0.1', '542a2d5f5122210f', 'powerflex', 'csi-vxflexos',
  'powermax', 'isilon', 'unity', '__proto__', 'constructor', 'FOR=', 'By=', '\t'];
const anyForwarded = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 16 }).map((pieces) => pieces.join('')),
  fc.string({ unit: 'binary', maxLength: 60 }),
);
/** An element an ingress (or a tenant) might add: unmarked for/by/host, or noise. */
const unmarkedElement = fc.oneof(
  fc.stringMatching(/^[a-z0-9.:/]{0,12}$/).map((value) => `for=${value}`),
  fc.stringMatching(/^[a-z0-9-]{0,12}$/).map((value) => `by=${value}`),
  fc.stringMatching(/^[a-z0-9.;=]{0,12}$/),
);

describe('parseForwarded (fuzz)', () => {
  it('never throws, and resolves only the plugins it knows', () => {
    fc.assert(fc.property(anyForwarded, (header) => {
      const parsed = parseForwarded(header);
      if (parsed === undefined) return true;
      expect(parsed.systemType === undefined || SYSTEM_TYPES.includes(parsed.systemType), String(parsed.systemType)).to.equal(true);
      expect(parsed.systemID).to.equal(parsed.systemID.trim());
      return true;
    }), { numRuns: 3000 });
  });

  it('lets the sidecar\'s marked values win wherever unmarked ones are put around them', () => {
    const systemID = fc.stringMatching(/^[0-9a-f]{16}$/);
    fc.assert(fc.property(systemID, fc.array(unmarkedElement, { maxLength: 4 }), fc.array(unmarkedElement, { maxLength: 4 }), (id, before, after) => {
      const marked = [`for=csm-authorization;https://10.0.0.1;${id}`, 'by=csm-authorization;csi-vxflexos'];
      const parsed = parseForwarded([...before, ...marked, ...after].join(','));
      expect(parsed).to.include({ systemID: id, systemType: 'powerflex', endpoint: 'https://10.0.0.1' });
      return true;
    }), { numRuns: 1500 });
  });
});
