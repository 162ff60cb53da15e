// Kubernetes-style duration strings (Go's time.ParseDuration, as Dell's Storage CRD uses them for
// `pollInterval`): "30s", "5m", "1h30m", "1.5h"; "0" (or "0s") means off.
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/y;

/** Milliseconds (rounded); throws on anything Go would not parse. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const match = PART.exec(text);
    if (!match || match.index !== at) throw new Error(`"${text}" is not a duration such as 30s, 5m or 1h30m`);
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  if (text === '') throw new Error('an empty duration');
  return Math.round(total);
}
