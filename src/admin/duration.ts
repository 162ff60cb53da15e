// Go-style durations ("1m0s", "720h", "1h30m", "1.5h") as Dell's karavictl/dellctl send them for
// token lifetimes (reference §1.3, §2.2). Same grammar as Go's time.ParseDuration, without a sign:
// a token lifetime is never negative.

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)([a-zµ]+)/gy;

/** Parses a Go duration into milliseconds; throws an Error whose message says what is wrong. */
export function parseGoDuration(text: string): number {
  const input = text.trim();
  if (input === '0') return 0;
  if (input === '') throw new Error('duration is empty (examples: 30m, 1h30m, 720h)');
  let total = 0;
  let consumed = 0;
  PART.lastIndex = 0;
  for (let match = PART.exec(input); match; match = PART.exec(input)) {
    const [, amount = '', unit = ''] = match;
    const factor = UNIT_MS[unit];
    if (factor === undefined) {
      throw new Error(`duration "${text}" has unknown unit "${unit}" (use h, m, s, ms; e.g. 720h for 30 days)`);
    }
    total += Number(amount) * factor;
    consumed = PART.lastIndex;
  }
  if (consumed !== input.length) {
    throw new Error(`"${text}" is not a duration (examples: 30m, 1h30m, 720h)`);
  }
  return Math.round(total);
}

/** Formats milliseconds the way Go prints durations ("1m0s", "720h0m0s"), to whole seconds. */
export function formatGoDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
