// `storage-authz sidecar`: flags mirror the environment Dell's sidecar container reads, and the
// environment variables themselves still work, so a Dell driver chart's container spec carries over.
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DRAIN_TIMEOUT_SECONDS } from '../envoy/drain.js';
import { createLogger } from '../telemetry/log.js';
import { driverSecretMount } from './config.js';
import { runSidecar } from './run.js';

// Dell's mount points (reference §1.2), so an existing pod spec needs no new paths.
const DELL_DRIVER_CONFIG = '/etc/karavi-authorization/config/config';
const DELL_CA_FILE = '/etc/karavi-authorization/root-certificates/rootCertificate.pem';
const DELL_TOKENS_DIR = '/etc/karavi-authorization/tokens';
const DELL_CONFIG_PARAMS = '/etc/karavi-authorization/driver-config-params.yaml';

interface SidecarFlags {
  proxyHost: string;
  plugin: string;
  driverConfig?: string;
  tokensDir?: string;
  identity: 'token-pair' | 'serviceaccount';
  tokenFile?: string;
  caFile?: string;
  insecure?: boolean;
  envoyBin: string;
  workDir?: string;
  envoyAdminPort?: number;
  statusListen?: { host: string; port: number };
  logLevel: string;
  logLevelFile: string;
  drainTimeoutMs: number;
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65535) throw new InvalidArgumentError('not a TCP port');
  return parsed;
}

function milliseconds(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed)) throw new InvalidArgumentError('not a whole number of milliseconds');
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

/**
 * Dell's driver charts give the tokens as ACCESS_TOKEN/REFRESH_TOKEN (from secret
 * proxy-authz-tokens) and mount no tokens volume. An explicit --tokens-dir wins; half a pair is an error.
 */
function tokenInputs(tokensDir: string | undefined): { tokensDir: string } | { environmentTokens: { accessToken: string; refreshToken: string } } {
  const { ACCESS_TOKEN: accessToken, REFRESH_TOKEN: refreshToken } = process.env;
  if (tokensDir !== undefined || (accessToken === undefined && refreshToken === undefined)) return { tokensDir: tokensDir ?? DELL_TOKENS_DIR };
  if (accessToken === undefined || refreshToken === undefined) {
    throw new Error(`${accessToken === undefined ? 'ACCESS_TOKEN' : 'REFRESH_TOKEN'} is not set but ${accessToken === undefined ? 'REFRESH_TOKEN' : 'ACCESS_TOKEN'} is: both come from secret proxy-authz-tokens (keys access, refresh)`);
  }
  return { environmentTokens: { accessToken, refreshToken } };
}

/** Without --driver-config: Dell's layout, karavi-authorization-config first, else the plugin's driver secret. */
function driverConfigInputs(driverConfig: string | undefined, plugin: string): { driverConfigFile: string; driverConfigFallback?: string } {
  if (driverConfig !== undefined) return { driverConfigFile: driverConfig };
  return { driverConfigFile: DELL_DRIVER_CONFIG, driverConfigFallback: driverSecretMount(plugin) };
}

export function sidecarCommand(): Command {
  return new Command('sidecar')
    .description('run the tenant sidecar next to a CSI driver: Envoy on localhost, tokens refreshed before they expire')
    .addOption(new Option('--proxy-host <host[:port]>', 'the authorization proxy (edge) host').env('PROXY_HOST').makeOptionMandatory())
    .addOption(new Option('--plugin <id>', 'driver plugin identifier (powerflex, powermax, powerscale, powerstore)').env('PLUGIN_IDENTIFIER').makeOptionMandatory())
    .option('--driver-config <file>', `the driver's array list (default ${DELL_DRIVER_CONFIG}, else the plugin's driver secret, e.g. /vxflexos-config/config)`)
    .option('--tokens-dir <dir>', `the mounted proxy-authz-tokens secret, files access and refresh (default: ACCESS_TOKEN/REFRESH_TOKEN when set, else ${DELL_TOKENS_DIR})`)
    .addOption(new Option('--identity <kind>', 'what the sidecar sends: the proxy-authz-tokens pair, or the pod\'s projected service-account token').choices(['token-pair', 'serviceaccount']).default('token-pair'))
    .option('--token-file <file>', 'with --identity serviceaccount: the projected service-account token (kubelet rotates it)')
    .option('--ca-file <file>', `CA bundle the proxy certificate must chain to (default ${DELL_CA_FILE})`)
    .option('--insecure', 'skip verification of the proxy certificate (also SKIP_CERTIFICATE_VALIDATION=true)')
    .option('--envoy-bin <path>', 'Envoy binary', 'envoy')
    .option('--work-dir <dir>', 'private directory for the socket, certificate and Envoy config (default: <tmpdir>/storage-authz-sidecar-<pid>)')
    .option('--envoy-admin-port <port>', 'Envoy admin on 127.0.0.1:<port> (default: a unix socket in the work dir, no port to collide with)', port)
    .option('--status-listen <host:port>', 'serve GET /ready with the token state here', hostPort)
    .option('--log-level <level>', 'log level until the driver config params set one', process.env.LOG_LEVEL ?? 'info')
    .option('--log-level-file <file>', "the driver's config params (CSI_LOG_LEVEL, followed while running)", DELL_CONFIG_PARAMS)
    .option('--drain-timeout-ms <ms>', "at stop, how long the driver's requests still running may take before Envoy stops (keep it below the pod's terminationGracePeriodSeconds)", milliseconds, DEFAULT_DRAIN_TIMEOUT_SECONDS * 1000)
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
          ...driverConfigInputs(flags.driverConfig, flags.plugin),
          ...(flags.tokenFile !== undefined ? { serviceAccountTokenFile: flags.tokenFile } : tokenInputs(flags.tokensDir)),
          insecure,
          ...(insecure ? {} : { caFile: flags.caFile ?? DELL_CA_FILE }),
          envoyBin: flags.envoyBin,
          workDir: flags.workDir ?? path.join(os.tmpdir(), `storage-authz-sidecar-${process.pid}`),
          ...(flags.envoyAdminPort !== undefined && { envoyAdminPort: flags.envoyAdminPort }),
          logLevelFile: flags.logLevelFile,
          drainTimeoutMs: flags.drainTimeoutMs,
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
