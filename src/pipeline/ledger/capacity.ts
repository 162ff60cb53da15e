// Human-readable capacities for denial messages (pure). Quota arithmetic stays in integer KiB.
const UNITS = [
  ['TiB', 1024 ** 3],
  ['GiB', 1024 ** 2],
  ['MiB', 1024],
] as const;

/** 8388608 → "8 GiB", 1536 → "1.5 MiB", 100 → "100 KiB". */
export function formatKiB(kib: number): string {
  for (const [unit, size] of UNITS) {
    if (kib >= size) return `${Number((kib / size).toFixed(2))} ${unit}`;
  }
  return `${kib} KiB`;
}
