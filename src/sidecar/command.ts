// `storage-authz sidecar`: flags mirror the environment Dell's sidecar container reads, and the
// environment variables themselves still work, so a Dell driver chart's container spec carries over.
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger } from '../telemetry/log.js';
import { runSidecar } from './run.js';

// Dell's mount points (reference §1.2), so an existing pod spec needs no new paths.
const DELL_DRIVER_CONFIG = '/etc/karavi-authorization/config/config';
const DELL_CA_FILE = '/etc/karavi-authorization/root-certificates/rootCertificate.pem';

interface SidecarFlags {
  proxyHost: string;
  plugin: string;
  driverConfig: string;
  tokensDir: string;
  identity: 'token-pair' | 'serviceaccount';
  tokenFile?: string;
  caFile?: string;
  insecure?: boolean;
  envoyBin: string;
  workDir?: string;
  envoyAdminPort: number;
  statusListen?: { host: string; port: number };
  logLevel: string;
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65535) throw new InvalidArgumentError('not a TCP port');
  return parsed;
}

function hostPort(value: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(value);
  if (!match) throw new InvalidArgumentError('expected host:port, e.g. 127.0.0.1:9410');
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port: port(match[2]!) };
}

// Dell's sidecar reads SKIP_CERTIFICATE_VALIDATION (older: INSECURE) as the string "true".
const insecureFromEnvironment = (): boolean =>
  process.env.SKIP_CERTIFICATE_VALIDATION === 'true' || process.env.INSECURE === 'true';

export function sidecarCommand(): Command {
  return new Command('sidecar')
    .description('run the tenant sidecar next to a CSI driver: Envoy on localhost, tokens refreshed before they expire')
    .addOption(new Option('--proxy-host <host[:port]>', 'the authorization proxy (edge) host').env('PROXY_HOST').makeOptionMandatory())
    .addOption(new Option('--plugin <id>', 'driver plugin identifier (powerflex, powermax, powerscale, powerstore)').env('PLUGIN_IDENTIFIER').makeOptionMandatory())
    .option('--driver-config <file>', "the driver's array list (driver secret or karavi-authorization-config)", DELL_DRIVER_CONFIG)
    .option('--tokens-dir <dir>', 'the mounted proxy-authz-tokens secret (files access, refresh)', '/etc/karavi-authorization/tokens')
    .addOption(new Option('--identity <kind>', 'what the sidecar sends: the proxy-authz-tokens pair, or the pod\'s projected service-account token').choices(['token-pair', 'serviceaccount']).default('token-pair'))
    .option('--token-file <file>', 'with --identity serviceaccount: the projected service-account token (kubelet rotates it)')
    .option('--ca-file <file>', `CA bundle the proxy certificate must chain to (default ${DELL_CA_FILE})`)
    .option('--insecure', 'skip verification of the proxy certificate (also SKIP_CERTIFICATE_VALIDATION=true)')
    .option('--envoy-bin <path>', 'Envoy binary', 'envoy')
    .option('--work-dir <dir>', 'private directory for the socket, certificate and Envoy config (default: <tmpdir>/storage-authz-sidecar-<pid>)')
    .option('--envoy-admin-port <port>', 'Envoy admin port on 127.0.0.1 (/ready)', port, 19000)
    .option('--status-listen <host:port>', 'serve GET /ready with the token state here', hostPort)
    .option('--log-level <level>', 'log level', process.env.LOG_LEVEL ?? 'info')
    .action(async (flags: SidecarFlags) => {
      const logger = createLogger({ name: 'storage-authz-sidecar', level: flags.logLevel });
      const insecure = flags.insecure === true || insecureFromEnvironment();
      if ((flags.identity === 'serviceaccount') !== (flags.tokenFile !== undefined)) {
        logger.fatal('sidecar cannot start: --identity serviceaccount and --token-file <projected token> go together');
        process.exitCode = 2;
        return;
      }
      let sidecar;
      try {
        sidecar = await runSidecar({
          proxyHost: flags.proxyHost,
          plugin: flags.plugin,
          driverConfigFile: flags.driverConfig,
          tokensDir: flags.tokensDir,
          ...(flags.tokenFile !== undefined ? { serviceAccountTokenFile: flags.tokenFile } : {}),
          insecure,
          ...(insecure ? {} : { caFile: flags.caFile ?? DELL_CA_FILE }),
          envoyBin: flags.envoyBin,
          workDir: flags.workDir ?? path.join(os.tmpdir(), `storage-authz-sidecar-${process.pid}`),
          envoyAdminPort: flags.envoyAdminPort,
          ...(flags.statusListen ? { status: flags.statusListen } : {}),
          logger,
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        logger.fatal(`sidecar cannot start: ${message}`);
        process.exitCode = 2;
        return;
      }
      const running = sidecar;
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'sidecar stopping');
        void running.stop().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      const exit = await running.envoyExit;
      if (!stopping) {
        logger.fatal(exit, 'Envoy exited; the sidecar stops so the pod restarts it');
        await running.stop();
        process.exit(1);
      }
    });
}
