import { expect } from 'chai';
import { formatGoDuration, parseGoDuration } from './duration.js';

describe('Go durations for token lifetimes', () => {
  it("reads what Dell's CLIs send and what people type", () => {
    expect(parseGoDuration('1m0s')).to.equal(60_000);
    expect(parseGoDuration('720h0m0s')).to.equal(720 * 3_600_000);
    expect(parseGoDuration('1h30m')).to.equal(5_400_000);
    expect(parseGoDuration('1.5h')).to.equal(5_400_000);
    expect(parseGoDuration('250ms')).to.equal(250);
    expect(parseGoDuration('0')).to.equal(0);
  });

  it('explains a unit Go does not have, such as days', () => {
    expect(() => parseGoDuration('30d')).to.throw('duration "30d" has unknown unit "d" (use h, m, s, ms; e.g. 720h for 30 days)');
  });

  it('rejects text that is not a duration, a sign, or a bare number', () => {
    for (const text of ['', 'abc', '-1h', '10', '1h 30m', 'h']) {
      expect(() => parseGoDuration(text), text).to.throw(/duration|is not a duration/);
    }
  });

  it('prints whole seconds the way Go does', () => {
    expect(formatGoDuration(60_000)).to.equal('1m0s');
    expect(formatGoDuration(720 * 3_600_000)).to.equal('720h0m0s');
    expect(formatGoDuration(5_000)).to.equal('5s');
  });
});
