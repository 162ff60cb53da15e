// CSMRole quota strings → integer KiB, exactly (BigInt; Dell's float/overflow bugs: csm#1368).
//
// Accepted: a number with a unit — binary `KiB MiB GiB TiB PiB EiB` (also Kubernetes' `Ki … Ei`),
// SI `KB MB GB TB PB EB` (also `K … E`), `B` — case-insensitive, an optional space, and a decimal
// fraction (`1.5TiB`). A bare integer is KiB, the unit PowerFlex sizes volumes in. (Dell v1 read a
// bare integer as KB of 1000 bytes; write a unit to be unambiguous.) Any form of zero (`0`, `0GB`,
// `0GiB`) means unlimited, as in Dell's policies. Values that are not whole KiB round DOWN, so a
// quota never allows more than what was written.

import type { Quota } from './types.js';

export type QuotaParse = { ok: true; quota: Quota } | { ok: false; message: string };

const UNIT_BYTES: Readonly<Record<string, bigint>> = (() => {
  const table: Record<string, bigint> = { b: 1n };
  ['k', 'm', 'g', 't', 'p', 'e'].forEach((prefix, i) => {
    const si = 1000n ** BigInt(i + 1);
    const binary = 1024n ** BigInt(i + 1);
    table[prefix] = si;
    table[`${prefix}b`] = si;
    table[`${prefix}i`] = binary;
    table[`${prefix}ib`] = binary;
  });
  return table;
})();

const MAX_KIB = BigInt(Number.MAX_SAFE_INTEGER);
// Digits are bounded so a hostile value cannot make BigInt do unbounded work.
const QUOTA_PATTERN = /^(\d{1,40})(?:\.(\d{1,20}))? ?([a-z]{1,3})?$/i;
const EXAMPLES = 'e.g. 100GiB, 10TiB, 500MiB, 10GB, or 0 for unlimited';

export function parseQuota(input: string | number): QuotaParse {
  const text = String(input).trim();
  if (text.startsWith('-')) return { ok: false, message: `"${text}" is negative; a quota is a size (${EXAMPLES})` };
  const match = QUOTA_PATTERN.exec(text);
  if (!match) return { ok: false, message: `"${text}" is not a size (${EXAMPLES})` };
  const [, whole = '', fraction = '', unit] = match;
  if (unit === undefined && fraction) {
    return { ok: false, message: `"${text}" has a fraction but no unit; a bare number is whole KiB (${EXAMPLES})` };
  }
  const unitBytes = unit === undefined ? 1024n : UNIT_BYTES[unit.toLowerCase()];
  if (unitBytes === undefined) return { ok: false, message: `"${text}" has an unknown unit "${unit}" (${EXAMPLES})` };

  const scale = 10n ** BigInt(fraction.length);
  const bytesTimesScale = (BigInt(whole) * scale + BigInt(fraction || '0')) * unitBytes;
  if (bytesTimesScale === 0n) return { ok: true, quota: { kind: 'unlimited' } };
  const kib = bytesTimesScale / (scale * 1024n); // BigInt division truncates: rounds down
  if (kib === 0n) {
    return { ok: false, message: `"${text}" is less than 1 KiB; write 0 for unlimited or a size of at least 1KiB` };
  }
  if (kib > MAX_KIB) return { ok: false, message: `"${text}" exceeds the largest quota, ${MAX_KIB} KiB (8 ZiB)` };
  return { ok: true, quota: { kind: 'limited', kib: Number(kib) } };
}
