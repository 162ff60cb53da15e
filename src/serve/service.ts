// `storage-authz serve` as a library: loads keys, resources, policy and ledger, then answers Envoy.
// The gRPC server listens first (health NOT_SERVING, every Check a 503) and turns SERVING only
// once everything is loaded, so Envoy's health check keeps traffic away until the service can decide.
import http from 'node:http';
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import { createAdminHandler } from '../admin/handler.js';
import { ResourceStore } from '../cli/resourceStore.js';
import { usageReport } from '../admin/usage.js';
import { createAdapters, type Adapters } from '../arrays/registry.js';
import { createHttpCheckServer, type HttpCheckServer } from '../check/httpServer.js';
import { listenOn } from '../check/listen.js';
import { createCheckServer, type AccessLogRecord } from '../check/server.js';
import { MemoryLedger } from '../ledger/memory/memoryLedger.js';
import { RedisLedger } from '../ledger/redis/redisLedger.js';
import type { Ledger } from '../ledger/types.js';
import { createReconciler } from '../reconcile/reconcile.js';
import type { ReconcileStore } from '../reconcile/types.js';
import { confirmFromAccessLog, startPendingResolver } from '../pipeline/confirm/confirm.js';
import { findOnArray } from '../pipeline/confirm/settle.js';
import { allObservers } from '../pipeline/observe/observe.js';
import { createDecider } from '../pipeline/pipeline.js';
import type { Decide } from '../pipeline/types.js';
import { ServiceAccountVerifier } from '../tokens/serviceAccount.js';
import { MemoisedPolicy } from '../pipeline/policy/memo.js';
import { WasmPolicyEngine } from '../pipeline/policy/wasmEngine.js';
import { jsonDeny, reject } from '../pipeline/response/deny.js';
import { DirectoryResources } from '../resources/directory.js';
import { KubernetesResources } from '../resources/kubernetes/source.js';
import type { ResourceSnapshot } from '../resources/types.js';
import { decisionAudit, MemoryRecentDecisions } from '../telemetry/audit.js';
import { silentLogger, type Logger } from '../telemetry/log.js';
import { MetricsRegistry, ServiceMetrics } from '../telemetry/metrics.js';
import { watchSigningKeys } from '../tokens/keys.js';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../tokens/mint.js';
import { TokenVerifier } from '../tokens/verify.js';
import { VERSION } from '../version.js';
import type { ResourcesConfig, ServeConfig } from './config.js';

export interface RunningService {
  /** Bound TCP port of the Check server (0 for a unix socket). */
  checkPort: number;
  /** Bound TCP port of the HTTP check server, when enabled (0 for a unix socket). */
  httpCheckPort?: number;
  /** Bound port of the admin API, when enabled. */
  adminPort?: number;
  /** Stops answering (NOT_SERVING), drains in-flight Checks, then releases every resource. */
  close(): Promise<void>;
}

const STARTING = jsonDeny(reject(503, 'starting', 'authorization service is starting'));

async function openLedger(config: ServeConfig, logger: Logger): Promise<Ledger & ReconcileStore> {
  const { ledger } = config;
  switch (ledger.kind) {
    case 'memory':
      logger.warn('using the in-memory ledger: quota usage is lost on restart and not shared between replicas');
      return new MemoryLedger();
    case 'redis':
      return RedisLedger.connect({ url: ledger.url, passwordFile: ledger.passwordFile, logger });
    case 'sentinel':
      return RedisLedger.connect({ sentinels: ledger.sentinels, name: ledger.name, passwordFile: ledger.passwordFile, logger });
  }
}

async function openResources(config: ResourcesConfig, logger: Logger, metrics: ServiceMetrics): Promise<DirectoryResources | KubernetesResources> {
  switch (config.kind) {
    case 'directory':
      return DirectoryResources.open(config.dir, { secretsDir: config.secretsDir, logger, onRejected: () => metrics.reloadFailed('resources') });
    case 'kubernetes':
      return KubernetesResources.open({ ...config, logger });
  }
}

const USAGE_STATUS_INTERVAL_MS = 30_000;

/** Lease holder only: each tenant's status shows its usage per pool, refreshed every 30 s and on change. */
function publishTenantUsage(resources: KubernetesResources, ledger: Ledger, logger: Logger): { stop(): void } {
  let running = false;
  const publish = async () => {
    if (running || !resources.isLeader()) return;
    running = true;
    try {
      const snapshot = resources.current();
      const rows = usageReport(snapshot, await ledger.usage());
      for (const tenant of snapshot.tenants.keys()) resources.reportTenantUsage(tenant, rows.filter((row) => row.tenant === tenant));
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'tenant usage not published to status');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void publish(), USAGE_STATUS_INTERVAL_MS);
  timer.unref();
  const unsubscribe = resources.onChange(() => void publish());
  void publish();
  return {
    stop() {
      clearInterval(timer);
      unsubscribe();
    },
  };
}

export async function startService(config: ServeConfig, logger: Logger = silentLogger): Promise<RunningService> {
  // Everything opened so far, closed in reverse on failure or shutdown.
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        logger.warn({ err: error }, 'error while shutting down');
      }
    }
  };

  const registry = new MetricsRegistry('storage-authz');
  closers.push(() => registry.close());
  const metrics = new ServiceMetrics(registry, { tenantLabel: config.metricsTenantLabel });
  let decide: Decide | undefined;
  let confirm: ((record: AccessLogRecord) => Promise<void>) | undefined;
  const decideOrStarting: Decide = (request, gaveUp) => (decide ? decide(request, gaveUp) : Promise.resolve(STARTING));
  const server = createCheckServer({
    decide: decideOrStarting,
    // Entries logged before the ledger is open carry ids from a previous run; the resolver settles those.
    onAccessLog: (record) => (confirm ? confirm(record) : Promise.resolve()),
    logger,
  });
  try {
    const checkPort = await server.listen(config.listen);
    closers.push(() => server.close(config.drainMs));
    logger.info({ listen: config.listen }, 'check server listening (NOT_SERVING until loaded)');
    let httpCheckPort: number | undefined;
    let httpCheck: HttpCheckServer | undefined;
    if (config.httpCheckListen) {
      // The same decisions as the gRPC Check, for ext_authz's http_service.
      httpCheck = createHttpCheckServer({
        decide: decideOrStarting,
        logger,
      });
      httpCheckPort = await httpCheck.listen(config.httpCheckListen);
      const opened = httpCheck;
      closers.push(() => opened.close(config.drainMs));
      logger.info({ httpCheckListen: config.httpCheckListen }, 'HTTP check server listening');
    }
    if (config.healthListen) {
      await server.listenHealth(config.healthListen);
      logger.info({ healthListen: config.healthListen }, 'health server listening');
    }

    const keys = await watchSigningKeys(config.signingKeysDir, config.defaultKid, { logger, onRejected: () => metrics.reloadFailed('keys') });
    closers.push(() => keys.close());
    const verifier = new TokenVerifier({
      keys: () => keys.current(),
      issuers: config.issuers,
      audiences: config.audiences,
      tenantSubjects: config.tenantSubjects,
      maxAccessTtlSeconds: config.maxAccessTtlSeconds,
    });
    const serviceAccounts = new ServiceAccountVerifier({ cooldownMs: config.jwksRefreshCooldownMs, maxAgeMs: config.jwksMaxAgeMs, ownIssuers: config.issuers });
    closers.push(() => serviceAccounts.close());
    const resources = await openResources(config.resources, logger, metrics);
    closers.push(() => resources.close());
    const policy = new MemoisedPolicy(await WasmPolicyEngine.load(config.policyWasm));
    const applyRoles = (snapshot: ResourceSnapshot) => {
      try {
        policy.setRoles(snapshot.roles.values());
      } catch (error) {
        metrics.reloadFailed('policy');
        logger.error({ err: error, generation: snapshot.generation }, 'roles not loaded into the policy; previous roles stay in force');
      }
    };
    applyRoles(resources.current());
    closers.push(resources.onChange(applyRoles));

    const unmeasuredLedger = await openLedger(config, logger);
    closers.push(() => unmeasuredLedger.close());
    // Scrapes read the ledger unmeasured, so /metrics does not count its own reads as ledger traffic.
    metrics.observe({ ledger: unmeasuredLedger, resources, logger });
    const openedLedger = metrics.instrumentLedger(unmeasuredLedger);
    const recentDecisions = unmeasuredLedger instanceof RedisLedger ? unmeasuredLedger.recentDecisions() : new MemoryRecentDecisions();
    closers.push(() => recentDecisions.flush()); // after the drain, before the ledger's connection closes
    const adapters: Adapters = createAdapters(config.arrayCaFile ? { ca: await readFile(config.arrayCaFile, 'utf8') } : {});
    closers.push(() => adapters.close());

    let adminPort: number | undefined;
    if (config.adminListen) {
      const tokenDefaults = {
        // Minted tenant tokens must pass this service's own verifier, whatever --issuer/--audience accept.
        issuer: config.issuers[0] ?? DEFAULT_ISSUER,
        audience: config.audiences[0] ?? DEFAULT_AUDIENCE,
        refreshedTenantAccessTtlSeconds: config.refreshedAccessTtlSeconds,
        earlyRefreshWindowSeconds: config.earlyRefreshWindowSeconds,
      };
      const mount = { verifier, serviceAccounts, resources, adapters: adapters.registry, ledger: openedLedger, policy, logger };
      // karavictl's management requests write the resources directory as authzctl does (Kubernetes mode: not yet).
      const source = config.resources;
      const objects = source.kind === 'directory' ? { open: () => ResourceStore.open(source.dir), secretsDir: source.secretsDir } : undefined;
      const status = { replica: replicaName(source), ledgerBackend: config.ledger.kind, startedAt: new Date() };
      const api = createAdminHandler({ resources, ledger: openedLedger, decisions: recentDecisions, status, verifier, keys: () => keys.current(), logger, tokenDefaults, mount, objects });
      // /metrics is for the scraper on the admin listener itself: the edge routes only /proxy/ here.
      const admin = http.createServer((req, res) => (req.method === 'GET' && req.url === '/metrics' ? registry.handle(req, res) : api(req, res)));
      adminPort = await listenOn(admin, config.adminListen);
      closers.push(() => new Promise<void>((resolve) => admin.close(() => resolve())));
      logger.info({ adminListen: config.adminListen }, 'admin API listening');
    }
    if (config.metricsListen) {
      // Nothing but /metrics: a scraper outside the pod never reaches the admin API.
      const scrape = http.createServer((req, res) => {
        if (req.method === 'GET' && req.url === '/metrics') return registry.handle(req, res);
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      });
      await listenOn(scrape, config.metricsListen);
      closers.push(() => new Promise<void>((resolve) => scrape.close(() => resolve())));
      logger.info({ metricsListen: config.metricsListen }, 'metrics listening');
    }
    if (resources instanceof KubernetesResources) {
      const publisher = publishTenantUsage(resources, openedLedger, logger);
      closers.push(() => publisher.stop());
    }
    const resolver = startPendingResolver({
      ledger: openedLedger,
      find: findOnArray(resources, adapters.registry),
      olderThanMs: config.pendingAfterMs,
      intervalMs: config.resolveIntervalMs,
      logger,
    });
    closers.push(() => resolver.stop());
    if (config.reconcile !== 'off') {
      const reconciler = createReconciler({
        ledger: openedLedger,
        resources,
        adapters: adapters.registry,
        mode: config.reconcile,
        settleAfterMs: config.pendingAfterMs,
        logger,
        status: resources instanceof KubernetesResources ? resources : undefined,
      });
      closers.push(() => reconciler.stop());
    }

    confirm = confirmFromAccessLog(openedLedger, { resources, adapters: adapters.registry, logger });
    const observers = [decisionAudit({ metrics, store: recentDecisions, logger })];
    if (config.otlpEndpoint) {
      // Loaded only when asked for: without an endpoint no tracing SDK is in the process.
      const { createDecisionTracing } = await import('../telemetry/tracing.js');
      const tracing = createDecisionTracing({ endpoint: config.otlpEndpoint, version: VERSION, instance: replicaName(config.resources) });
      closers.push(() => tracing.close());
      observers.push(tracing.observer);
      logger.info({ otlpEndpoint: config.otlpEndpoint }, 'decision traces exported over OTLP/HTTP');
    }
    const observer = allObservers(observers);
    decide = createDecider({ verifier, serviceAccounts, resources, adapters: adapters.registry, policy, ledger: openedLedger, logger, observer });
    server.setServing(true);
    httpCheck?.setServing(true);
    logger.info({ listen: config.listen }, 'storage-authz serving');
    let closing: Promise<void> | undefined;
    // Checks drain first, while the ledger and adapters they use are still open.
    const close = async () => {
      await server.close(config.drainMs);
      await closeAll();
    };
    return { checkPort, ...(httpCheckPort !== undefined && { httpCheckPort }), ...(adminPort !== undefined && { adminPort }), close: () => (closing ??= close()) };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Which replica this is: its name in the Lease, else host and pid. */
function replicaName(resources: ResourcesConfig): string {
  return resources.kind === 'kubernetes' ? resources.identity : `${os.hostname()}-${process.pid}`;
}
