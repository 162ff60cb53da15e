// Property tests (fast-check, bounded runs) of the allow response: whatever headers a tenant sends,
// the array receives only the adapter's, Envoy's and the decision's own; and the path Envoy forwards
// is the path that was classified.
import { expect } from 'chai';
import fc from 'fast-check';
import { anyMethod, trickyPath } from '../../../test/support/fuzz.js';
import { classifyPowerFlex } from '../../arrays/powerflex/classify.js';
import type { StorageSystem } from '../../resources/types.js';
import { allowDecision } from './allow.js';

const system: StorageSystem = { name: 'pf-1', type: 'powerflex', systemID: 'sys1', endpoint: 'https://array', skipCertificateValidation: false, credentials: { kind: 'secret', name: 's' } };
const FORWARDED_HEADERS = ['accept', 'content-type'];
const KEPT = new Set(['accept', 'content-type', 'content-length', 'transfer-encoding', 'x-forwarded-proto', 'x-request-id', 'authorization', 'x-storage-authz-cluster']);
const headerName = fc.oneof(
  fc.constantFrom('x-original-url', 'x-rewrite-url', 'x-http-method-override', 'x-real-ip', 'cookie', 'forwarded', 'x-forwarded-for', 'x-forwarded-host',
    'authorization', 'proxy-authorization', 'accept', 'content-type', 'content-length', 'host', ':path', ':authority', 'x-request-id', 'x-envoy-original-path'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
);

describe('allowDecision (fuzz)', () => {
  it('removes every tenant header but the adapter\'s and Envoy\'s own, and forwards the classified path', () => {
    fc.assert(fc.property(fc.dictionary(headerName, fc.string({ maxLength: 10 }), { maxKeys: 30 }), anyMethod, trickyPath, (headers, method, path) => {
      const request = { id: 'r', method, path, headers, body: Buffer.alloc(0) };
      const classified = classifyPowerFlex(request);
      const allow = allowDecision({
        request, system, classified, forwardedHeaders: FORWARDED_HEADERS, metadata: {},
        credentialHeaders: [{ name: 'authorization', value: 'Basic array' }],
      });
      const removed = new Set(allow.removeHeaders);
      for (const name of Object.keys(headers)) {
        const envoyOwned = name.startsWith(':') || name === 'host';
        expect(removed.has(name), name).to.equal(!KEPT.has(name) && !envoyOwned);
      }
      const set = new Set(allow.setHeaders.map((header) => header.name));
      expect(allow.removeHeaders.filter((name) => set.has(name))).to.deep.equal([]);
      const forwardedPath = allow.setHeaders.find((header) => header.name === ':path')?.value ?? request.path;
      expect(forwardedPath).to.equal(classified.path);
      return true;
    }), { numRuns: 1500 });
  });
});
