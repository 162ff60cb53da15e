#!/usr/bin/env node
// storage-authz: the decision service (`serve`) and its edge Envoy config (`render-edge-config`).
import { writeFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import { DEFAULT_DRAIN_MIN_MS, DEFAULT_DRAIN_TIMEOUT_SECONDS, drainEdge } from './envoy/drain.js';
import { DEFAULT_AUTHZ_TIMEOUT_MS, DEFAULT_ROUTE_TIMEOUT_MS, renderEdgeConfig } from './envoy/edge.js';
import { ResourceLoadError } from './resources/errors.js';
import { listStorageSystems } from './resources/kubernetes/storageList.js';
import { loadResourceDirectory } from './resources/load.js';
import type { StorageSystem } from './resources/types.js';
import { ConfigError, DEFAULT_LISTEN, OPTION_NAMES, parseMilliseconds, parseServeConfig, readConfigFile, type RawServeOptions } from './serve/config.js';
import { startService } from './serve/service.js';
import { csiProxyCommand } from './csi/command.js';
import { sidecarCommand } from './sidecar/command.js';
import { createLogger, type Logger } from './telemetry/log.js';
import { VERSION } from './version.js';

const flag = (key: keyof typeof OPTION_NAMES, value: string, description: string) => new Option(`${OPTION_NAMES[key]} <${value}>`, description);

function serveCommand(): Command {
  return new Command('serve')
    .description('answer the edge Envoy: ext_authz Check, gRPC health, access-log confirmation; optionally the admin API')
    .option('-c, --config <file>', 'YAML/JSON file with the options below (camelCase keys); flags override it')
    .addOption(flag('listen', 'address', `Check/health/access-log gRPC address, host:port or unix:/path (default ${DEFAULT_LISTEN})`))
    .addOption(flag('httpCheckListen', 'address', "Check over HTTP/1.1 for the edge's ext_authz http_service (render-edge-config --authz-http), host:port or unix:/path (off when unset)"))
    .addOption(flag('adminListen', 'host:port', 'admin HTTP API address (off when unset)'))
    .addOption(flag('healthListen', 'host:port', 'grpc.health.v1 only, for kubelet grpc probes while --listen is a unix socket (off when unset)'))
    .addOption(flag('metricsListen', 'host:port', 'GET /metrics only, for Prometheus (off when unset; the admin listener serves it too)'))
    .addOption(flag('resources', 'source', 'where tenants, roles and storage come from: directory (default) or kubernetes (CRs, status, Secrets)'))
    .addOption(flag('resourcesDir', 'dir', 'directory of CSMTenant/CSMRole/Storage YAML (hot-reloaded)'))
    .addOption(flag('secretsDir', 'dir', 'where Storage credential volumes are mounted: <dir>/<secret>/{username,password} (kubernetes: SecretProviderClass volumes only)'))
    .addOption(flag('namespace', 'namespace', 'kubernetes: namespace of the CRs, credential Secrets and Lease (default $POD_NAMESPACE)'))
    .addOption(flag('kubeconfig', 'file', 'kubernetes: kubeconfig file (default: in-cluster, else KUBECONFIG / ~/.kube/config)'))
    .addOption(flag('leaseName', 'name', 'kubernetes: the coordination.k8s.io Lease whose holder writes status (default storage-authz)'))
    .addOption(flag('identity', 'name', 'kubernetes: this replica in the Lease (default $POD_NAME, else host-pid)'))
    .addOption(flag('signingKeysDir', 'dir', 'directory of token signing keys, one file per kid (hot-reloaded)'))
    .addOption(flag('defaultKid', 'kid', 'key used for tokens without kid (every Dell-minted token)'))
    .addOption(flag('issuer', 'list', 'accepted token issuers, comma-separated; the first is minted (default com.dell.csm,com.dell.karavi)'))
    .addOption(flag('audience', 'list', 'accepted token audiences, comma-separated; the first is minted (default csm,karavi)'))
    .addOption(flag('tenantSubject', 'list', 'token subjects that name a tenant, comma-separated (default csm-tenant,karavi-tenant)'))
    .addOption(flag('maxAccessTtlSeconds', 'seconds', 'longest access-token lifetime; an unmarked (Dell-minted) token living longer is a refresh token (default 1800)'))
    .addOption(flag('redisUrl', 'url', 'Redis ledger, redis://host:port (in-memory ledger when no Redis is given)'))
    .addOption(flag('redisSentinels', 'list', 'Redis Sentinel ledger: host:port,host:port'))
    .addOption(flag('redisSentinelName', 'name', 'Sentinel master name (default mymaster)'))
    .addOption(flag('redisPasswordFile', 'file', 'file holding the Redis password'))
    .addOption(flag('policyWasm', 'file', 'compiled policy bundle (default: the committed policies/build/policy.wasm)'))
    .addOption(flag('arrayCaFile', 'file', 'extra CA certificates (PEM) trusted for array TLS'))
    .addOption(flag('routeTimeoutMs', 'ms', "the edge Envoy's route timeout, as given to render-edge-config (default 120000)"))
    .addOption(flag('pendingAfterMs', 'ms', 'settle holds unconfirmed this long against the array; must exceed the route timeout (default route timeout + max(5 s, 25 %))'))
    .addOption(flag('resolveIntervalMs', 'ms', 'how often to look for such reservations (default 30000)'))
    .addOption(flag('reconcile', 'mode', 'compare each array with the ledger every Storage pollInterval: repair (default), report (change nothing), off'))
    .addOption(flag('drainMs', 'ms', 'on SIGTERM, how long in-flight Checks may finish (default 10000)'))
    .addOption(flag('refreshedAccessTtlSeconds', 'seconds', 'lifetime of a tenant access token minted by /proxy/refresh-token/ (default 300)'))
    .addOption(flag('earlyRefreshWindowSeconds', 'seconds', 'how close to expiry an access token may be refreshed (default 60)'))
    .addOption(flag('jwksRefreshCooldownMs', 'ms', "tenant clusters' JWKS: least time between refetches caused by unknown key ids (default 30000)"))
    .addOption(flag('jwksMaxAgeMs', 'ms', "tenant clusters' JWKS: refetched after this long, so a retired key stops verifying (default 300000)"))
    .addOption(flag('otlpEndpoint', 'url', 'send a trace of each decision (a span per phase, continuing the request\'s traceparent) over OTLP/HTTP protobuf, e.g. http://otel-collector:4318 (off when unset)'))
    .addOption(new Option(OPTION_NAMES.metricsTenantLabel, 'label the decision counter of /metrics by tenant (series multiply by tenants; off by default)'))
    .action(async (options: RawServeOptions & { config?: string }) => {
      const { config: file, ...flags } = options;
      const config = parseServeConfig({ ...(file ? await readConfigFile(file) : {}), ...flags });
      const logger = createLogger();
      const service = await startService(config, logger);
      await stopOnSignal(logger, () => service.close());
    });
}

/** Resolves after SIGTERM/SIGINT has stopped the service (a second signal exits at once). */
function stopOnSignal(logger: Logger, stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'draining');
      process.once(signal, () => process.exit(1));
      void stop().then(() => {
        logger.info('stopped');
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}

function renderEdgeConfigCommand(): Command {
  return new Command('render-edge-config')
    .description('print the edge Envoy bootstrap for the Storage objects of a resources directory or a namespace')
    .addOption(new Option('--resources <source>', 'where the Storage objects come from').choices(['directory', 'kubernetes']).default('directory'))
    .option('--resources-dir <dir>', 'directory of CSMTenant/CSMRole/Storage YAML (--resources directory)')
    .option('--namespace <namespace>', 'namespace of the Storage CRs (--resources kubernetes; default $POD_NAMESPACE)')
    .option('--kubeconfig <file>', 'kubeconfig file (--resources kubernetes; default: in-cluster, else KUBECONFIG)')
    .requiredOption('--cert-file <file>', 'TLS certificate chain the edge serves')
    .requiredOption('--key-file <file>', 'TLS private key of that certificate')
    .option('--listen-address <ip>', 'edge listener address', '0.0.0.0')
    .option('--listen-port <port>', 'edge listener port', '8443')
    .option('--authz <address>', 'decision service (gRPC: Check, health, access log), host:port or unix:/path', DEFAULT_LISTEN)
    .option('--authz-http <address>', "ask for decisions over HTTP/1.1 at serve's --http-check-listen (host:port or unix:/path) instead of the gRPC Check; health and the access log stay on --authz")
    .option('--admin-api <host:port>', 'admin API served under /proxy/')
    .option('--envoy-admin-port <port>', "Envoy's own admin interface on 127.0.0.1")
    .option('--envoy-stats-port <port>', "serve only GET /stats/prometheus (Envoy's counters: each array's circuit breaker, requests, answers) on this port of --listen-address; needs --envoy-admin-port")
    .option('--ca-file <file>', 'CA bundle for array certificates (default: the system bundle)')
    .option('--authz-timeout-ms <ms>', 'Check deadline; raise it for slow array logins and lookups', String(DEFAULT_AUTHZ_TIMEOUT_MS))
    .option('--route-timeout-ms <ms>', 'how long a request may run on an array (give serve the same value)', String(DEFAULT_ROUTE_TIMEOUT_MS))
    .addOption(new Option('--format <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('--output <file>', 'write the bootstrap here instead of stdout (an init container has no shell)')
    .action(async (options: Record<string, string | undefined>) => {
      if (options.envoyStatsPort && !options.envoyAdminPort) throw new ConfigError('--envoy-stats-port serves the admin interface: give --envoy-admin-port too');
      const storage = await edgeStorage(options);
      const config = renderEdgeConfig({
        listen: { address: options.listenAddress!, port: port(options.listenPort!, '--listen-port') },
        tls: { certFile: options.certFile!, keyFile: options.keyFile! },
        authz: { address: options.authz!, ...(options.authzHttp && { httpAddress: options.authzHttp }) },
        ...(options.adminApi && { adminApi: { address: options.adminApi } }),
        ...(options.envoyAdminPort && { envoyAdmin: { address: '127.0.0.1', port: port(options.envoyAdminPort, '--envoy-admin-port') } }),
        ...(options.envoyStatsPort && { envoyStats: { address: options.listenAddress!, port: port(options.envoyStatsPort, '--envoy-stats-port') } }),
        storage,
        ...(options.caFile && { caFile: options.caFile }),
        authzTimeoutMs: parseMilliseconds(options.authzTimeoutMs!, '--authz-timeout-ms'),
        routeTimeoutMs: parseMilliseconds(options.routeTimeoutMs!, '--route-timeout-ms'),
      });
      const text = options.format === 'json' ? `${JSON.stringify(config, null, 2)}\n` : toYaml(config);
      if (options.output) await writeFile(options.output, text, { mode: 0o644 });
      else process.stdout.write(text);
    });
}

/** The Storage objects the edge routes to: a directory's (all must be valid) or a namespace's accepted CRs. */
async function edgeStorage(options: Record<string, string | undefined>): Promise<StorageSystem[]> {
  if (options.resources === 'kubernetes') {
    const namespace = options.namespace ?? process.env.POD_NAMESPACE;
    if (!namespace) throw new ConfigError('--namespace (or POD_NAMESPACE) is required with --resources kubernetes');
    const { storage, rejected } = await listStorageSystems({ namespace, ...(options.kubeconfig && { kubeconfig: options.kubeconfig }) });
    // Left-out objects are the controller's to report (status); the edge routes to the rest.
    for (const line of rejected) process.stderr.write(`render-edge-config: left out ${line}\n`);
    return storage;
  }
  if (!options.resourcesDir) throw new ConfigError('--resources-dir is required with --resources directory');
  const build = await loadResourceDirectory(options.resourcesDir, 1);
  if (!build.ok) throw new ResourceLoadError(options.resourcesDir, build.errors);
  return [...build.snapshot.storage.values()];
}

function drainEdgeCommand(): Command {
  return new Command('drain-edge')
    .description("the edge pod's preStop hook (both containers): ask the edge Envoy to drain, then wait until no tenant request is running on it")
    .option('--envoy-admin <host:port>', "the edge Envoy's admin interface", '127.0.0.1:19000')
    .option('--min-ms <ms>', 'wait at least this long (the Service stops sending new connections meanwhile)', String(DEFAULT_DRAIN_MIN_MS))
    .option('--timeout-ms <ms>', 'return after this long even with requests still running (keep it below terminationGracePeriodSeconds)', String(DEFAULT_DRAIN_TIMEOUT_SECONDS * 1000))
    .action(async (options: { envoyAdmin: string; minMs: string; timeoutMs: string }) => {
      const result = await drainEdge({ admin: options.envoyAdmin, minMs: parseMilliseconds(options.minMs, '--min-ms'), timeoutMs: parseMilliseconds(options.timeoutMs, '--timeout-ms') });
      const outcome = result.drained ? 'no request running' : `${result.active} request(s) still running at --timeout-ms`;
      process.stderr.write(`drain-edge: ${outcome} after ${result.waitedMs} ms\n`);
    });
}

function port(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > 65535) throw new ConfigError(`${name} must be a port number, got "${value}"`);
  return number;
}

const program = new Command('storage-authz')
  .description('Storage authorization for Kubernetes CSI drivers on Dell arrays (Envoy ext_authz decision service)')
  .addCommand(serveCommand())
  .addCommand(renderEdgeConfigCommand())
  .addCommand(drainEdgeCommand())
  .addCommand(sidecarCommand())
  .addCommand(csiProxyCommand())
  .version(VERSION, '--version', 'print the version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  process.stderr.write(`storage-authz: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
