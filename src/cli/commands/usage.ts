// `authzctl usage` and `authzctl volumes`: what each tenant holds per array and pool, from the
// service's ledger via the admin API.
import type { Command } from 'commander';
import type { DellVolume, DriftCounts, UsageReportRow, VolumesReportRow } from '../../admin/usage.js';
import type { DriftFinding } from '../../reconcile/types.js';
import { formatKiB, printData, type Column, type Io } from '../output.js';
import { withClient, type GlobalOptions } from '../globals.js';

const system = (row: { systemType: string; systemID: string }): string => `${row.systemType}/${row.systemID}`;

const USAGE_COLUMNS: Column<UsageReportRow>[] = [
  { header: 'TENANT', value: (r) => r.tenant },
  { header: 'SYSTEM', value: system },
  { header: 'POOL', value: (r) => r.pool },
  { header: 'QUOTA', value: (r) => (r.quotaKiB === null ? 'unlimited' : r.roles.length === 0 ? 'none (no role)' : formatKiB(r.quotaKiB)) },
  { header: 'USED', value: (r) => formatKiB(r.usedKiB) },
  { header: 'RESERVED', value: (r) => formatKiB(r.reservedKiB) },
  { header: 'FREE', value: (r) => (r.freeKiB === null ? 'unlimited' : formatKiB(r.freeKiB)) },
  { header: 'VOLUMES', value: (r) => r.volumes.toString() },
  { header: 'ROLES', value: (r) => r.roles.join(',') || '-' },
  { header: 'DRIFT', value: (r) => driftSummary(r.drift) },
  { header: 'ENFORCEMENT', value: enforcementSummary },
];

/** `enforce`, or `report`, marked when report mode has let the tenant past its quota. */
function enforcementSummary(row: UsageReportRow): string {
  return row.overQuotaKiB > 0 ? `${row.enforcement} (over quota by ${formatKiB(row.overQuotaKiB)})` : row.enforcement;
}

/** `-` when the last reconciliation found the ledger equal to the array, else what differed and whether it was repaired. */
function driftSummary(drift: DriftCounts): string {
  const parts = [
    drift.missingOnArray > 0 && `${drift.missingOnArray} missing on array`,
    drift.unaccountedOnArray > 0 && `${drift.unaccountedOnArray} unaccounted on array`,
    drift.sizeMismatch > 0 && `${drift.sizeMismatch} size mismatch`,
  ].filter((part): part is string => part !== false);
  if (parts.length === 0) return '-';
  return `${parts.join(', ')} (${drift.unrepaired === 0 ? 'repaired' : `${drift.unrepaired} not repaired`})`;
}

type DriftRow = DriftFinding & { at: string };

const DRIFT_COLUMNS: Column<DriftRow>[] = [
  { header: 'TENANT', value: (r) => r.tenant ?? '-' },
  { header: 'SYSTEM', value: system },
  { header: 'POOL', value: (r) => r.pool },
  { header: 'VOLUME', value: (r) => r.volume },
  { header: 'DRIFT', value: (r) => r.kind },
  { header: 'LEDGER', value: (r) => (r.ledgerKiB === undefined ? '-' : formatKiB(r.ledgerKiB)) },
  { header: 'ARRAY', value: (r) => (r.arrayKiB === undefined ? '-' : formatKiB(r.arrayKiB)) },
  { header: 'REPAIRED', value: (r) => (r.repaired ? 'yes' : 'no') },
  { header: 'FOUND', value: (r) => r.at },
];

const VOLUMES_COLUMNS: Column<VolumesReportRow>[] = [
  { header: 'TENANT', value: (r) => r.tenant },
  { header: 'SYSTEM', value: system },
  { header: 'POOL', value: (r) => r.pool },
  { header: 'VOLUME', value: (r) => r.name },
  { header: 'SIZE', value: (r) => formatKiB(r.sizeKiB) },
  { header: 'STATE', value: (r) => r.state },
];

export function registerUsageCommands(program: Command, io: Io): void {
  addReportCommand<UsageReportRow>(program, io, {
    name: 'usage',
    description: 'quota, used, reserved and free capacity per tenant, array and pool',
    path: '/proxy/usage/',
    key: 'usage',
    columns: USAGE_COLUMNS,
    empty: (tenant) => `No usage: ${tenant ? `tenant "${tenant}" has no` : 'no tenant has'} roles or volumes yet`,
  });
  addReportCommand<VolumesReportRow>(program, io, {
    name: 'volumes',
    description: "each tenant's volumes by name, with size and state (reserved, committed, deleting), per array and pool",
    path: '/proxy/volumes/',
    key: 'volumes',
    columns: VOLUMES_COLUMNS,
    fromArray: (element) => {
      const { tenant, name, systemId, pool, systemType, sizeKiB, state } = element as DellVolume;
      return { tenant, name, systemID: systemId, pool, systemType, sizeKiB, state };
    },
    empty: (tenant) => `No volumes: ${tenant ? `tenant "${tenant}" has not` : 'no tenant has'} created any yet`,
  });
  addReportCommand<DriftRow>(program, io, {
    name: 'drift',
    description: 'what the last reconciliation with each array found: volumes missing on the array, unaccounted on it, or of another size; repaired or not',
    path: '/proxy/drift/',
    key: 'drift',
    columns: DRIFT_COLUMNS,
    empty: (tenant) => `No drift: the last reconciliation found the ledger equal to the arrays${tenant ? ` for tenant "${tenant}"` : ''}`,
    // A pass lists only its first findings (MAX_LISTED_FINDINGS); the admin must know the table is not all.
    notes: (reply) => ((reply.systems ?? []) as { systemType: string; systemID: string; note?: string }[]).flatMap((s) => (s.note ? [`${system(s)}: ${s.note} (authzctl usage counts them all)`] : [])),
  });
}

interface Report<T> {
  name: string;
  description: string;
  /** Admin API path answering `{[key]: T[]}`, optionally filtered by `?tenant=`. */
  path: string;
  key: string;
  columns: readonly Column<T>[];
  empty(tenant: string | undefined): string;
  /** A row of the bare array the path answers a tenant token with (Dell's /proxy/volumes/ shape). */
  fromArray?: (element: unknown) => T;
  /** Lines said on stderr after the table (what the rows do not show). */
  notes?: (reply: Record<string, unknown>) => string[];
}

/** A read-only admin API report as a command: table rows, or the whole reply with -o json|yaml. */
function addReportCommand<T>(program: Command, io: Io, report: Report<T>): void {
  program
    .command(report.name)
    .description(report.description)
    .option('-t, --tenant <name>', 'only this tenant')
    .action(async (options: { tenant?: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const answer = await withClient(globals, (client) => client.call('GET', withTenant(report.path, options.tenant)));
      const reply = (report.fromArray && Array.isArray(answer) ? { [report.key]: answer.map(report.fromArray) } : answer) as Record<string, T[]>;
      const rows = reply[report.key] ?? [];
      printData(io, globals.output, reply, rows, report.columns);
      if (rows.length === 0) io.stderr(`${report.empty(options.tenant)}\n`);
      for (const note of report.notes?.(reply) ?? []) io.stderr(`${note}\n`);
    });
}

function withTenant(path: string, tenant: string | undefined): string {
  return tenant === undefined ? path : `${path}?${new URLSearchParams({ tenant }).toString()}`;
}
