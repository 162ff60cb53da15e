// Property tests (fast-check, bounded runs) of the PowerFlex classifier on arbitrary method, path and
// body: it never throws, never lets a mutating method pass as a read, never lets garbage become an
// operation, and always classifies the path it will forward.
import { expect } from 'chai';
import fc from 'fast-check';
import { anyBody, anyMethod, trickyPath } from '../../../test/support/fuzz.js';
import { normalisePath } from '../path.js';
import { classifyPowerFlex, VOLUME_GRANULARITY_KIB } from './classify.js';

// POST queries goscaleio uses to look volumes up: the only non-GET/HEAD requests that are reads.
const QUERY_ACTION = /^\/api\/types\/[^/]+\/instances\/action\/(queryidbykey|queryselectedstatistics|querybyselectedids)\/$/;
const CREATE_PATH = '/api/types/Volume/instances/';

describe('classifyPowerFlex (fuzz)', () => {
  it('never throws; a read is a GET/HEAD or one of the POST query actions, nothing else', () => {
    fc.assert(fc.property(anyMethod, trickyPath, anyBody, (method, path, body) => {
      const { operation, path: classifiedPath } = classifyPowerFlex({ method, path, body });
      const normalised = normalisePath(path);
      if (!normalised.ok) return operation.kind === 'invalid';
      // The path that is classified is the path that is forwarded.
      expect(classifiedPath).to.equal(normalised.path);
      if (operation.kind === 'read' && !['GET', 'HEAD'].includes(method.toUpperCase())) {
        expect(method.toUpperCase()).to.equal('POST');
        expect(normalised.pathname.toLowerCase()).to.match(QUERY_ACTION);
      }
      return true;
    }), { numRuns: 3000 });
  });

  it('turns no body into a create unless it is a strict JSON object with a name, a pool id and a whole size', () => {
    let creates = 0;
    fc.assert(fc.property(anyBody, (body) => {
      const { operation } = classifyPowerFlex({ method: 'POST', path: CREATE_PATH, body });
      if (operation.kind === 'invalid') return operation.status === 400;
      creates++;
      expect(operation.kind).to.equal('volume-create');
      if (operation.kind !== 'volume-create') return false;
      const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      expect(parsed.name).to.be.a('string').and.equal(operation.name).and.not.equal('');
      expect(parsed.storagePoolId).to.equal(operation.poolId);
      const requested = Number(parsed.volumeSizeInKb);
      expect(operation.sizeKiB % VOLUME_GRANULARITY_KIB).to.equal(0);
      expect(operation.sizeKiB).to.be.at.least(requested).and.below(requested + VOLUME_GRANULARITY_KIB);
      return true;
    }), { numRuns: 2000 });
    expect(creates, 'valid creates among the generated bodies').to.be.above(0);
  });

  it('refuses every create body that repeats a field or spells one with another case, naming the key', () => {
    const field = fc.constantFrom('name', 'storagePoolId', 'volumeSizeInKb');
    const recase = (key: string, flips: boolean[]) => [...key].map((char, i) => (flips[i % flips.length] ? char.toUpperCase() : char)).join('');
    // Scalar values only: a nested object may hold case-variant keys of its own (`g`, `G`), which the
    // parser refuses first, naming those instead (seed 104545450 found it).
    fc.assert(fc.property(field, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 0 }), fc.boolean(), (key, flips, value, before) => {
      const variant = recase(key, flips);
      const fields = [`"name":"vol-1"`, `"storagePoolId":"a1b2c3d400000000"`, `"volumeSizeInKb":"8388608"`];
      const extra = `${JSON.stringify(variant)}:${JSON.stringify(value) ?? 'null'}`;
      const body = Buffer.from(`{${(before ? [extra, ...fields] : [...fields, extra]).join(',')}}`);
      const { operation } = classifyPowerFlex({ method: 'POST', path: CREATE_PATH, body });
      expect(operation.kind, body.toString()).to.equal('invalid');
      if (operation.kind === 'invalid') expect(operation.message).to.contain(JSON.stringify(variant));
      return true;
    }), { numRuns: 1000 });
  });
});
