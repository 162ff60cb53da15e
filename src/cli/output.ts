// Output for humans (aligned tables, binary sizes) and for scripts (-o json|yaml). Data goes to
// stdout; status lines ("… created") go to stderr so `authzctl … | kubectl apply -f -` stays clean.
import { stringify } from 'yaml';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface Column<T> {
  header: string;
  value: (row: T) => string;
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Prints `data` as JSON or YAML, or `rows` as a table under `columns`. */
export function printData<T>(io: Io, format: OutputFormat, data: unknown, rows: readonly T[], columns: readonly Column<T>[]): void {
  if (format === 'json') io.stdout(`${JSON.stringify(data, null, 2)}\n`);
  else if (format === 'yaml') io.stdout(stringify(data));
  else io.stdout(table(rows, columns));
}

export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => c.value(row)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   ')).join('\n') + '\n';
}

const BINARY_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** 104857600 → "100GiB"; 1536 → "1.5MiB"; exact values print without decimals. */
export function formatKiB(kib: number): string {
  let value = kib;
  let unit = 0;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = Number.isInteger(value) ? value.toString() : value.toFixed(1);
  return `${shown}${BINARY_UNITS[unit]}`;
}
