// `authzctl why-denied`: a decision from the audit trail, the phase that refused it, the figures it
// was made on and what would change the answer, through the admin API (/proxy/decisions/).
import type { Command } from 'commander';
import type { DecisionRecord } from '../../telemetry/audit.js';
import { CliError } from '../errors.js';
import { withClient, type GlobalOptions } from '../globals.js';
import { formatKiB, type Io } from '../output.js';
import { stringify as toYaml } from 'yaml';

type ExplainedDecision = DecisionRecord & { explanation: string };

function describe(d: ExplainedDecision): string {
  const lines = [
    `decision ${d.id}  ${d.time}  ${d.outcome === 'allow' ? 'ALLOWED' : `DENIED ${d.status ?? ''}`.trim()} (${d.reason}) in phase ${d.phase}`,
    `  tenant ${d.tenant ?? '-'}  system ${d.arrayType ?? '-'}/${d.systemID ?? '-'}  pool ${d.pool ?? '-'}`,
    `  operation ${d.operation ?? '-'} (${d.method})  volume ${d.volume ?? '-'}${d.sizeKiB === undefined ? '' : `  size ${formatKiB(d.sizeKiB)}`}`,
  ];
  if (d.quotaKiB !== undefined) lines.push(`  quota ${formatKiB(d.quotaKiB)}  used ${formatKiB(d.usedKiB ?? 0)}  requested ${formatKiB(d.requestedKiB ?? 0)}`);
  if (d.message) lines.push(`  told the driver: ${d.message}`);
  if (d.wouldDeny) lines.push(`  report-only: would have been denied ${d.wouldDeny.status} (${d.wouldDeny.reason}): ${d.wouldDeny.message}`);
  lines.push(`  what would change it: ${d.explanation}`);
  return lines.join('\n');
}

export function registerWhyDeniedCommand(program: Command, io: Io): void {
  program
    .command('why-denied')
    .description('explain a decision by its request id (the x-request-id Envoy logs), or a tenant\'s recent denials')
    .argument('[request-id]', 'the decision id')
    .option('-t, --tenant <name>', 'recent decisions of this tenant (instead of a request id)')
    .option('--volume <name>', 'with --tenant: only decisions about this volume')
    .option('--since <duration>', 'with --tenant: only this recent, e.g. 1h, 30m (default 1h)')
    .option('--all', 'with --tenant: allowed decisions too (report mode\'s would-deny allows are always listed)')
    .action(async (requestId: string | undefined, options: { tenant?: string; volume?: string; since?: string; all?: boolean }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      if ((requestId === undefined) === (options.tenant === undefined)) throw new CliError('give a request id or --tenant, not both');
      const query = new URLSearchParams(
        requestId !== undefined ? { id: requestId } : { tenant: options.tenant!, since: options.since ?? '1h', ...(options.volume && { volume: options.volume }) },
      );
      const reply = (await withClient(globals, (client) => client.call('GET', `/proxy/decisions/?${query.toString()}`))) as { decisions?: ExplainedDecision[] };
      const decisions = (reply.decisions ?? []).filter((d) => requestId !== undefined || options.all || d.outcome === 'deny' || d.wouldDeny !== undefined);
      if (globals.output === 'json') io.stdout(`${JSON.stringify({ decisions }, null, 2)}\n`);
      else if (globals.output === 'yaml') io.stdout(toYaml({ decisions }));
      else if (decisions.length > 0) io.stdout(`${decisions.map(describe).join('\n\n')}\n`);
      if (decisions.length === 0) {
        throw new CliError(
          requestId !== undefined
            ? `no decision with request id "${requestId}" is kept (the store holds the most recent ones; an older decision is only in the service's log)`
            : `no ${options.all ? '' : 'denied '}decision of tenant "${options.tenant}" in the last ${options.since ?? '1h'}`,
        );
      }
    });
}
