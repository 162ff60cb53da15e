#!/usr/bin/env node
// authzctl: the storage admin's CLI. Tenants, roles and storage systems are declarative objects
// written into the service's resources directory or, with a kubeconfig, as CRs into a Kubernetes
// namespace (or printed for kubectl/GitOps); tokens, usage and
// volumes go through the admin API. Data goes to stdout, status lines and errors to stderr.
import { Command, CommanderError, Option } from 'commander';
import { registerInjectCommand } from './commands/inject.js';
import { registerRoleCommands } from './commands/role.js';
import { registerStatusCommand } from './commands/status.js';
import { registerStorageCommands } from './commands/storage.js';
import { registerTenantCommands } from './commands/tenant.js';
import { registerTokenCommands } from './commands/tokens.js';
import { registerUsageCommands } from './commands/usage.js';
import { registerValidateCommand } from './commands/validate.js';
import { registerWhyDeniedCommand } from './commands/whyDenied.js';
import { CliError } from './errors.js';
import { VERSION } from '../version.js';
import { OUTPUT_FORMATS, processIo, type Io } from './output.js';

function buildProgram(io: Io): Command {
  const program = new Command('authzctl')
    .description('Administer storage-authz: signing admin tokens, tenants, roles, storage systems, tenant tokens and usage.')
    .addOption(new Option('--addr <host[:port]>', 'admin API address (https unless the URL says http://)').env('AUTHZCTL_ADDR'))
    .addOption(new Option('-f, --admin-token <file>', 'admin token file written by "authzctl admin token"').env('AUTHZCTL_ADMIN_TOKEN'))
    .addOption(new Option('--tenant-token <file>', "a tenant's proxy-authz-tokens Secret (from \"authzctl generate token\"): volumes and usage of that tenant only").env('AUTHZCTL_TENANT_TOKEN'))
    .option('--ca <file>', 'CA certificate (PEM) that signed the admin API certificate')
    .option('--insecure', 'do not verify the admin API certificate (testing only)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .addOption(new Option('--resources-dir <dir>', 'directory of CSMTenant/CSMRole/Storage YAML the service loads').env('AUTHZCTL_RESOURCES_DIR'))
    .addOption(new Option('--kubeconfig <file>', 'Kubernetes mode (without --resources-dir): the CRs of this cluster, written with server-side apply').env('KUBECONFIG'))
    .addOption(new Option('--kube-namespace <namespace>', "Kubernetes mode: namespace of the CRs (default: the kubeconfig context's)").env('AUTHZCTL_NAMESPACE'))
    .version(VERSION, '--version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  registerStorageCommands(program, io);
  registerRoleCommands(program, io);
  registerTenantCommands(program, io);
  registerTokenCommands(program, io);
  registerUsageCommands(program, io);
  registerWhyDeniedCommand(program, io);
  registerStatusCommand(program, io);
  registerValidateCommand(program, io);
  registerInjectCommand(program, io);
  return program;
}

/** Runs one command line; resolves to the process exit code. */
async function run(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    // Commander has already printed its own usage errors, and --help/--version exit through here with 0.
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof CliError) {
      io.stderr(`error: ${error.message}\n`);
      return 1;
    }
    io.stderr(`error: unexpected failure: ${(error as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await run(process.argv.slice(2), processIo);
