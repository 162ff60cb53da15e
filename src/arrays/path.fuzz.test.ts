// Property tests (fast-check, bounded runs) of the one path normaliser every adapter classifies and
// forwards with: whatever a tenant sends, it never throws, and what it accepts is canonical.
import { expect } from 'chai';
import fc from 'fast-check';
import { trickyPath } from '../../test/support/fuzz.js';
import { normalisePath } from './path.js';

describe('normalisePath (fuzz)', () => {
  it('never throws, and every path it accepts is canonical: rooted, trailing /, no dot segments, //, ;, or structural escapes', () => {
    fc.assert(fc.property(trickyPath, (raw) => {
      const result = normalisePath(raw);
      if (!result.ok) return typeof result.reason === 'string' && !result.reason.includes('\n');
      const { pathname, query, path } = result;
      expect(path).to.equal(pathname + query);
      expect(pathname.startsWith('/') && pathname.endsWith('/'), pathname).to.equal(true);
      expect(pathname).to.not.match(/\/\/|(^|\/)\.\.?(\/|$)|;|%2F|%5C|%00|\\/i);
      expect([...pathname].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f), 'control character').to.equal(false);
      return true;
    }), { numRuns: 3000 });
  });

  it('is idempotent: the normalised path normalises to itself (the array executes what was classified)', () => {
    fc.assert(fc.property(trickyPath, (raw) => {
      const once = normalisePath(raw);
      if (!once.ok) return true;
      const twice = normalisePath(once.path);
      return twice.ok && twice.path === once.path;
    }), { numRuns: 3000 });
  });
});
