// The demo's printout (pure): what each driver call asked for, whether storage-authz let it reach
// the array, and why not when it did not; then the quota usage per pool as the admin API reports it.
import type { UsageReportRow } from '../admin/usage.js';
import { formatKiB, table, type Column } from '../cli/output.js';
import type { Reply } from './driver.js';

export interface Step {
  tenant: string;
  /** What the driver tried, in a storage admin's words. */
  action: string;
  reply: Pick<Reply, 'status' | 'body'>;
}

/** A 2xx is "allowed"; anything else shows the status and the message from the error body. */
export function outcome(reply: Pick<Reply, 'status' | 'body'>): string {
  if (reply.status >= 200 && reply.status < 300) return 'allowed';
  return `DENIED ${reply.status}: ${errorMessage(reply.body)}`;
}

const STEP_COLUMNS: Column<Step>[] = [
  { header: 'TENANT', value: (step) => step.tenant },
  { header: 'DRIVER CALL', value: (step) => step.action },
  { header: 'RESULT', value: (step) => outcome(step.reply) },
];

const USAGE_COLUMNS: Column<UsageReportRow>[] = [
  { header: 'TENANT', value: (row) => row.tenant },
  { header: 'POOL', value: (row) => row.pool },
  { header: 'USED', value: (row) => formatKiB(row.usedKiB + row.reservedKiB) },
  { header: 'QUOTA', value: (row) => (row.quotaKiB === null ? 'unlimited' : formatKiB(row.quotaKiB)) },
  { header: 'VOLUMES', value: (row) => String(row.volumes) },
];

export const stepsTable = (steps: readonly Step[]): string => table(steps, STEP_COLUMNS);

export const usageTable = (rows: readonly UsageReportRow[]): string => table(rows, USAGE_COLUMNS);

/** PowerFlex's `{"message"}`, Dell's generic `{"error"}`, or the raw text. */
function errorMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const { message, error } = body as { message?: unknown; error?: unknown };
    if (typeof message === 'string') return message;
    if (typeof error === 'string') return error;
  }
  return typeof body === 'string' ? body : JSON.stringify(body);
}
