// `authzctl usage` and `authzctl volumes`: what each tenant holds per array and pool, from the
// service's ledger via the admin API.
import type { Command } from 'commander';
import type { UsageReportRow, VolumesReportRow } from '../../admin/usage.js';
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
    empty: (tenant) => `No volumes: ${tenant ? `tenant "${tenant}" has not` : 'no tenant has'} created any yet`,
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
}

/** A read-only admin API report as a command: table rows, or the whole reply with -o json|yaml. */
function addReportCommand<T>(program: Command, io: Io, report: Report<T>): void {
  program
    .command(report.name)
    .description(report.description)
    .option('-t, --tenant <name>', 'only this tenant')
    .action(async (options: { tenant?: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const reply = (await withClient(globals, (client) => client.call('GET', withTenant(report.path, options.tenant)))) as Record<string, T[]>;
      const rows = reply[report.key] ?? [];
      printData(io, globals.output, reply, rows, report.columns);
      if (rows.length === 0) io.stderr(`${report.empty(options.tenant)}\n`);
    });
}

function withTenant(path: string, tenant: string | undefined): string {
  return tenant === undefined ? path : `${path}?${new URLSearchParams({ tenant }).toString()}`;
}
