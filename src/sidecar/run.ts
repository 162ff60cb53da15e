// Sidecar mode: reads the inputs, writes the serving certificate, the access token (for Envoy to
// inject) and the Envoy bootstrap, answers Envoy's Check on a unix socket while a token is expiring,
// and runs Envoy as a child process.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { createCheckServer } from '../check/server.js';
import { DEFAULT_DRAIN_TIMEOUT_SECONDS, envoyDrainArgs, GRACEFUL_DRAIN_PATH, waitForRequests } from '../envoy/drain.js';
import type { Logger } from '../telemetry/log.js';
import { MetricsRegistry, SidecarMetrics } from '../telemetry/metrics.js';
import { startCertificateRotation } from './certificates.js';
import { loadSidecarConfig, type SidecarConfigOptions } from './config.js';
import { sidecarDecide } from './decide.js';
import { adminRequest, type EnvoyAdmin } from '../envoy/admin.js';
import { driverRequestsActive, envoyReady, textStat } from './envoyAdmin.js';
import { ACCESS_TOKEN_SECRET, renderProxyCaSds, renderSidecarEnvoyBootstrap } from './envoyConfig.js';
import { followLogLevel } from './logLevel.js';
import { createProxyRefresher } from './refreshClient.js';
import { ServiceAccountToken } from './serviceAccountToken.js';
import { startTokenFeed } from './tokenFeed.js';
import { TokenHolder, type TokenHolderStatus } from './tokenHolder.js';

export interface RunSidecarOptions extends SidecarConfigOptions {
  envoyBin: string;
  /** Private directory for the socket, certificate and Envoy bootstrap. */
  workDir: string;
  /** Envoy admin on 127.0.0.1:<port>; by default a unix socket in the work directory (no port to collide with). */
  envoyAdminPort?: number;
  /** Dell's `driver-config-params.yaml`: `CSI_LOG_LEVEL` sets the log level, followed while running. */
  logLevelFile?: string;
  /** Where to serve `GET /ready` with the token state (e.g. for a readiness probe); none when absent. */
  status?: { host: string; port: number };
  envoyLogLevel?: string;
  /** At stop, how long the driver's requests still running may take (default DEFAULT_DRAIN_TIMEOUT_SECONDS). */
  drainTimeoutMs?: number;
  logger: Logger;
}

export interface RunningSidecar {
  status(): TokenHolderStatus;
  /** Settles when Envoy exits; before `stop()` that is a failure the caller must act on. */
  envoyExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

const ENVOY_READY_TIMEOUT_MS = 30_000;

export async function runSidecar(options: RunSidecarOptions): Promise<RunningSidecar> {
  const { logger } = options;
  const config = await loadSidecarConfig(options);
  await mkdir(options.workDir, { recursive: true, mode: 0o700 });

  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    if (options.logLevelFile) {
      const level = await followLogLevel(options.logLevelFile, logger, logger.level);
      if (level) cleanups.push(() => level.close());
    }
    const { tokens } = config;
    const registry = new MetricsRegistry('storage-authz-sidecar');
    cleanups.push(() => registry.close());
    const metrics = new SidecarMetrics(registry);
    const refresher = createProxyRefresher(config.proxy, config.trust);
    const holder = tokens.kind === 'service-account'
      ? await ServiceAccountToken.start({ tokenFile: tokens.file, logger })
      : await TokenHolder.start({
          tokens,
          refresher: async (pair) => {
            const outcome = await refresher(pair).catch((error: unknown) => {
              metrics.refreshed('failed');
              throw error;
            });
            metrics.refreshed(outcome.kind === 'refreshed' ? 'ok' : 'failed');
            return outcome;
          },
          logger,
        });
    metrics.tokenExpiry(() => holder.expiresAt());
    cleanups.push(() => holder.stop());

    const certificateDir = path.join(options.workDir, 'certs');
    const certificates = await startCertificateRotation({ dir: certificateDir, logger });
    cleanups.push(() => certificates.stop());

    const authzSocketPath = path.join(options.workDir, 'authz.sock');
    const checkServer = createCheckServer({ decide: sidecarDecide(holder), logger });
    await checkServer.listen(`unix:${authzSocketPath}`);
    checkServer.setServing(true);
    cleanups.push(() => checkServer.close(1000));

    const admin: EnvoyAdmin = options.envoyAdminPort === undefined ? { kind: 'socket', path: path.join(options.workDir, 'envoy-admin.sock') } : { kind: 'port', port: options.envoyAdminPort };
    const feed = await startTokenFeed({
      source: holder,
      dir: options.workDir,
      logger,
      appliedVersion: async () => {
        const version = await textStat(admin, `sds.${ACCESS_TOKEN_SECRET}.version_text`);
        return version === undefined ? undefined : Number(version) || 0;
      },
    });
    cleanups.push(() => feed.stop());
    if (options.status) {
      const statusServer = await serveStatus(options.status, registry, async () => {
        // Ready needs both: our own Envoy serving its listeners and a token to hand it.
        if (!(await envoyReady(admin))) return { ready: false, problem: 'the sidecar\'s Envoy is not ready (starting, or its listeners failed: see its log)' };
        return holder.status();
      });
      cleanups.push(() => new Promise<void>((resolve) => statusServer.close(() => resolve())));
    }

    const proxyCaSdsPath = path.join(options.workDir, 'proxy-ca.sds.json');
    if (config.trust.kind === 'ca-bundle') await writeFile(proxyCaSdsPath, renderProxyCaSds(config.trust.caFile), { mode: 0o600 });
    const bootstrapPath = path.join(options.workDir, 'envoy.json');
    const bootstrap = renderSidecarEnvoyBootstrap({
      plugin: config.plugin,
      proxy: config.proxy,
      trust: config.trust,
      arrays: config.arrays,
      authzSocketPath,
      certificateSdsPath: certificates.sdsPath,
      certificateDir,
      proxyCaSdsPath,
      tokenSdsPath: feed.tokenSdsPath,
      tokenDir: feed.tokenDir,
      runtimePath: feed.runtimePath,
      runtimeDir: feed.runtimeDir,
      admin,
    });
    await writeFile(bootstrapPath, JSON.stringify(bootstrap, null, 2), { mode: 0o600 });

    // Several Envoys may share a host (tests, node pods): no hot-restart shared memory.
    // The drain at stop (drainDriverRequests) tells every answer to close at once, as the edge's does.
    const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_SECONDS * 1000;
    const envoyArgs = ['-c', bootstrapPath, '--log-level', options.envoyLogLevel ?? 'warn', '--disable-hot-restart', ...envoyDrainArgs(Math.ceil(drainTimeoutMs / 1000))];
    const envoy = spawn(options.envoyBin, envoyArgs, {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const envoyExit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      envoy.once('exit', (code, signal) => resolve({ code, signal }));
      envoy.once('error', (error) => {
        logger.error({ err: error, envoyBin: options.envoyBin }, 'cannot start Envoy');
        resolve({ code: null, signal: null });
      });
    });
    cleanups.push(async () => {
      if (envoy.exitCode === null && envoy.signalCode === null) {
        await drainDriverRequests(admin, drainTimeoutMs, logger);
        envoy.kill('SIGTERM');
      }
      await envoyExit;
    });

    await waitForEnvoyReady(admin, envoyExit);
    logger.info(
      { proxyHost: config.proxy.authority, plugin: config.plugin, driverConfig: config.driverConfigFile, tokens: config.tokens.kind, arrays: config.arrays.map((a) => ({ systemID: a.systemID, port: a.listenPort })) },
      'sidecar ready',
    );
    return { status: () => holder.status(), envoyExit, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Envoy resets every request in flight at SIGTERM: a driver finishing a CreateVolume as its pod stops
 * would see it fail. So the stop drains first (answers say `Connection: close`) and waits until the
 * driver has no request running, at most `timeoutMs`; nothing running, it stops at once.
 */
async function drainDriverRequests(admin: EnvoyAdmin, timeoutMs: number, logger: Logger): Promise<void> {
  if ((await adminRequest(admin, GRACEFUL_DRAIN_PATH, 'POST'))?.status !== 200) return;
  let mostRunning = 0;
  const result = await waitForRequests(() => driverRequestsActive(admin), { minMs: 0, timeoutMs, onReading: (running) => { mostRunning = Math.max(mostRunning, running); } });
  if (mostRunning === 0) return;
  logger.info({ waitedMs: result.waitedMs, stillRunning: result.active }, result.drained ? "sidecar stopping: the driver's requests in flight were answered" : "sidecar stopping: the driver's requests still running at the drain timeout are reset");
}

/** Resolves once Envoy's admin `/ready` answers 200 (listeners initialised); fails if Envoy exits first. */
async function waitForEnvoyReady(admin: EnvoyAdmin, exited: Promise<unknown>): Promise<void> {
  let hasExited = false;
  void exited.then(() => { hasExited = true; });
  const deadline = Date.now() + ENVOY_READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited) throw new Error('Envoy exited during start-up (see its log above)');
    if (await envoyReady(admin)) return;
    if (Date.now() > deadline) throw new Error(`Envoy was not ready within ${ENVOY_READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `GET /ready`: 200 `{ready: true}` while a valid token is held, else 503 with what the operator must do; `GET /metrics`: token expiry and refreshes. */
function serveStatus(address: { host: string; port: number }, registry: MetricsRegistry, status: () => Promise<TokenHolderStatus>): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      registry.handle(req, res);
      return;
    }
    if (req.method !== 'GET' || req.url !== '/ready') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found', code: 404 }));
      return;
    }
    const current = await status();
    res.writeHead(current.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(current));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve(server));
  });
}
