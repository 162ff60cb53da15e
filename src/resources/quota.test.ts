import { expect } from 'chai';
import { parseQuota } from './quota.js';

const GiB_IN_KiB = 1024 * 1024;

function kib(input: string | number): number {
  const result = parseQuota(input);
  if (!result.ok) throw new Error(`expected ${input} to parse: ${result.message}`);
  if (result.quota.kind !== 'limited') throw new Error(`expected ${input} to be limited`);
  return result.quota.kib;
}

function rejection(input: string): string {
  const result = parseQuota(input);
  if (result.ok) throw new Error(`expected ${input} to be rejected, got ${JSON.stringify(result.quota)}`);
  return result.message;
}

describe('resources: parseQuota', () => {
  it('reads binary units exactly', () => {
    expect(kib('100GiB')).to.equal(100 * GiB_IN_KiB);
    expect(kib('10TiB')).to.equal(10 * 1024 * GiB_IN_KiB);
    expect(kib('500MiB')).to.equal(500 * 1024);
    expect(kib('128Gi')).to.equal(128 * GiB_IN_KiB);
    expect(kib('8 gib')).to.equal(8 * GiB_IN_KiB);
    expect(kib('1.5TiB')).to.equal(1536 * GiB_IN_KiB);
  });

  it('reads SI units, rounding down to whole KiB', () => {
    expect(kib('10GB')).to.equal(Math.floor(10e9 / 1024)); // 9765625 exactly
    expect(kib('1MB')).to.equal(976); // 1e6 / 1024 = 976.5625
    expect(kib('2KB')).to.equal(1);
    expect(kib('1.5G')).to.equal(1464843); // 1.5e9 / 1024 = 1464843.75
  });

  it('reads a bare integer as KiB', () => {
    expect(kib('2048')).to.equal(2048);
    expect(kib(4096)).to.equal(4096);
  });

  it('reads every form of zero as unlimited', () => {
    for (const zero of ['0', '0GB', '0GiB', '0.0TiB', 0]) {
      expect(parseQuota(zero), String(zero)).to.deep.equal({ ok: true, quota: { kind: 'unlimited' } });
    }
  });

  it('handles the csm#1368 size without overflow and rejects sizes beyond 2^53 KiB', () => {
    expect(kib('20000GB')).to.equal(19531250000);
    expect(kib(`${Number.MAX_SAFE_INTEGER}`)).to.equal(Number.MAX_SAFE_INTEGER);
    expect(rejection('9000000000EiB')).to.match(/exceeds the largest quota/);
  });

  it('rejects negatives, junk, unknown units, unitless fractions and sub-KiB sizes with a clear reason', () => {
    expect(rejection('-5GiB')).to.match(/"-5GiB" is negative/);
    expect(rejection('100GB7')).to.match(/"100GB7" is not a size \(e\.g\. 100GiB/);
    expect(rejection('100XB')).to.match(/unknown unit "XB"/);
    expect(rejection('1.5')).to.match(/fraction but no unit/);
    expect(rejection('500B')).to.match(/less than 1 KiB; write 0 for unlimited/);
    expect(rejection('')).to.match(/is not a size/);
  });
});
