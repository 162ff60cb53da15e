// The demo's printout (pure): what each driver call asked for, whether storage-authz let it reach
// the array, and why not when it did not; then the quota usage per pool.
import type { UsageRow } from '../ledger/types.js';
import type { Reply } from './driver.js';

export interface Step {
  tenant: string;
  /** What the driver tried, in a storage admin's words. */
  action: string;
  reply: Reply;
}

const GIB_IN_KIB = 1024 * 1024;

/** A 2xx is "allowed"; anything else shows the status and the message from the error body. */
export function outcome(reply: Reply): string {
  if (reply.status >= 200 && reply.status < 300) return 'allowed';
  return `DENIED ${reply.status}: ${errorMessage(reply.body)}`;
}

export function stepsTable(steps: readonly Step[]): string {
  return table(['tenant', 'driver call', 'result'], steps.map((step) => [step.tenant, step.action, outcome(step.reply)]));
}

export function usageTable(rows: readonly UsageRow[], quotaKiB: (row: UsageRow) => number | undefined): string {
  return table(
    ['tenant', 'system', 'pool', 'used', 'quota', 'volumes'],
    rows.map((row) => {
      const quota = quotaKiB(row);
      return [row.tenant, row.systemID, row.pool, gib(row.usedKiB + row.reservedKiB), quota === undefined ? 'unlimited' : gib(quota), String(row.volumes)];
    }),
  );
}

function gib(kib: number): string {
  return `${kib / GIB_IN_KIB} GiB`;
}

/** PowerFlex's `{"message"}`, Dell's generic `{"error"}`, or the raw text. */
function errorMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const { message, error } = body as { message?: unknown; error?: unknown };
    if (typeof message === 'string') return message;
    if (typeof error === 'string') return error;
  }
  return typeof body === 'string' ? body : JSON.stringify(body);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
