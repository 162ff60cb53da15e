// `authzctl status`: the replica the admin API address reaches — version, what it has loaded, its
// ledger and each system's last reconciliation (GET /proxy/status/).
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { ReplicaStatus } from '../../admin/status.js';
import { withClient, type GlobalOptions } from '../globals.js';
import type { Io } from '../output.js';

function describe(s: ReplicaStatus): string {
  const ledger = s.ledger.reachable ? `${s.ledger.backend}, reachable, ${s.ledger.pendingHolds ?? 0} unsettled hold(s)` : `${s.ledger.backend}, UNREACHABLE: ${s.ledger.error ?? ''}`;
  const lines = [
    `replica ${s.replica}  version ${s.version}  started ${s.startedAt}`,
    `  resources generation ${s.resources.generation}: ${s.resources.tenants} tenant(s), ${s.resources.roles} role(s), ${s.resources.storage} storage system(s)`,
    `  signing keys ${s.keys.kids.join(', ')} (default ${s.keys.defaultKid})`,
    `  ledger ${ledger}`,
  ];
  if (s.reconciliation.length === 0) lines.push('  reconciliation: no pass yet');
  for (const r of s.reconciliation) lines.push(`  reconciliation ${r.system}: ${r.at} (${r.mode}) ${r.error ? `FAILED: ${r.error}` : `${r.findings} finding(s)${r.listed === undefined ? '' : `, the first ${r.listed} listed (authzctl drift)`}`}`);
  return lines.join('\n');
}

export function registerStatusCommand(program: Command, io: Io): void {
  program
    .command('status')
    .description('version, loaded resources and keys, ledger and last reconciliation of the replica the admin API reaches')
    .action(async (_options: unknown, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const status = (await withClient(globals, (client) => client.call('GET', '/proxy/status/'))) as ReplicaStatus;
      if (globals.output === 'json') io.stdout(`${JSON.stringify(status, null, 2)}\n`);
      else if (globals.output === 'yaml') io.stdout(toYaml(status));
      else io.stdout(`${describe(status)}\n`);
    });
}
