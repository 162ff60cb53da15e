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
  program
    .command('usage')
    .description('quota, used, reserved and free capacity per tenant, array and pool')
    .option('-t, --tenant <name>', 'only this tenant')
    .action(async (options: { tenant?: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const reply = (await withClient(globals, (client) => client.call('GET', withTenant('/proxy/usage/', options.tenant)))) as { usage: UsageReportRow[] };
      printData(io, globals.output, reply, reply.usage, USAGE_COLUMNS);
      if (reply.usage.length === 0) io.stderr(`No usage: ${options.tenant ? `tenant "${options.tenant}" has no` : 'no tenant has'} roles or volumes yet\n`);
    });

  program
    .command('volumes')
    .description("each tenant's volumes by name, with size and state (reserved, committed, deleting), per array and pool")
    .option('-t, --tenant <name>', 'only this tenant')
    .action(async (options: { tenant?: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const reply = (await withClient(globals, (client) => client.call('GET', withTenant('/proxy/volumes/', options.tenant)))) as { volumes: VolumesReportRow[] };
      printData(io, globals.output, reply, reply.volumes, VOLUMES_COLUMNS);
      if (reply.volumes.length === 0) io.stderr(`No volumes: ${options.tenant ? `tenant "${options.tenant}" has not` : 'no tenant has'} created any yet\n`);
    });
}

function withTenant(path: string, tenant: string | undefined): string {
  return tenant === undefined ? path : `${path}?${new URLSearchParams({ tenant }).toString()}`;
}
