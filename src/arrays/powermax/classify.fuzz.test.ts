// Property tests (fast-check, bounded runs) of the PowerMax classifier on arbitrary method, path and
// body: it never throws, never lets a non-GET/HEAD request pass as a read outside the routes that
// name no volume, and always classifies the path it will forward; a create is always charged whole
// cylinders, at least what was asked.
import { expect } from 'chai';
import fc from 'fast-check';
import { anyBody, anyMethod, trickyPath } from '../../../test/support/fuzz.js';
import { normalisePath } from '../path.js';
import { classifyPowerMax, CYLINDER_KIB } from './classify.js';

const SID = '000197900123';
/** The mutations passed as reads (README): storage groups created empty or deleted, hosts, port groups, masking views. */
const PASSED_MUTATION = new RegExp(`^/univmax/restapi/[^/]+/sloprovisioning/symmetrix/${SID}/(storagegroup|maskingview|host|portgroup)(/[^/]+)?/$`);
const CREATE_PATH = `/univmax/restapi/100/sloprovisioning/symmetrix/${SID}/storagegroup/sg-1`;

describe('classifyPowerMax (fuzz)', () => {
  it('never throws; a non-GET/HEAD read is one of the routes that name no volume', () => {
    const paths = fc.oneof(trickyPath, trickyPath.map((p) => `/univmax/restapi/100/sloprovisioning/symmetrix/${SID}${p}`));
    fc.assert(fc.property(anyMethod, paths, anyBody, (method, path, body) => {
      const { operation, path: classifiedPath } = classifyPowerMax({ method, path, body }, SID);
      const normalised = normalisePath(path);
      if (!normalised.ok) return operation.kind === 'invalid';
      expect(classifiedPath).to.equal(normalised.path);
      if (operation.kind === 'read' && !['GET', 'HEAD'].includes(method.toUpperCase())) expect(normalised.pathname.toLowerCase()).to.match(PASSED_MUTATION);
      return true;
    }), { numRuns: 3000 });
  });

  it('charges every valid create whole cylinders, at least the size asked', () => {
    const unit = fc.constantFrom(['CYL', CYLINDER_KIB], ['MB', 1024], ['GB', 1024 * 1024], ['TB', 1024 ** 3]);
    const element = fc.record({ unit, size: fc.integer({ min: 1, max: 100_000 }), count: fc.integer({ min: 1, max: 4 }) });
    fc.assert(fc.property(fc.array(element, { minLength: 1, maxLength: 4 }), (elements) => {
      const volumeAttributes = elements.map(({ unit: [name], size, count }) => ({
        capacityUnit: name, num_of_vols: count, volume_size: String(size), volumeIdentifier: { identifier_name: 'v', volumeIdentifierChoice: 'identifier_name' },
      }));
      const body = Buffer.from(JSON.stringify({ editStorageGroupActionParam: { expandStorageGroupParam: { addVolumeParam: { volumeAttributes } } } }));
      const { operation } = classifyPowerMax({ method: 'PUT', path: CREATE_PATH, body }, SID);
      if (operation.kind !== 'volume-create') return false;
      const asked = elements.reduce((sum, { unit: [, kib], size, count }) => sum + count * size * (kib as number), 0);
      expect(operation.sizeKiB % CYLINDER_KIB).to.equal(0);
      expect(operation.sizeKiB).to.be.at.least(asked).and.below(asked + elements.reduce((sum, { count }) => sum + count, 0) * CYLINDER_KIB);
      return true;
    }), { numRuns: 1000 });
  });
});
