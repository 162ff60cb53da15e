// The admin side of storage-authz for one workspace: `storage-authz serve` (as a library, in this
// process) and a real edge Envoy in front of it, rendered from the workspace's Storage objects,
// with the admin API behind the same edge. Used by the demo and the PowerFlex end-to-end tests.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_DRAIN_TIMEOUT_SECONDS, envoyDrainArgs } from '../envoy/drain.js';
import { AUTHZ_CLUSTER, AUTHZ_HTTP_CLUSTER, renderEdgeConfig } from '../envoy/edge.js';
import { ResourceLoadError } from '../resources/errors.js';
import { loadResourceDirectory } from '../resources/load.js';
import { parseServeConfig } from '../serve/config.js';
import { startService } from '../serve/service.js';
import { silentLogger, type Logger } from '../telemetry/log.js';
import { waitForClusterHealth } from '../harness/envoy.js';
import { freePort, waitForPort } from '../harness/ports.js';
import { start, type Started } from '../harness/process.js';
import { envoyBin } from '../harness/tools.js';
import { SIGNING_KEY_ID, type Workspace } from './workspace.js';

export interface StackOptions {
  workspace: Workspace;
  /** The Redis ledger; the in-memory ledger when unset. */
  redisUrl?: string;
  /** The edge's route timeout (default 120 s). */
  routeTimeoutMs?: number;
  /** A hold the access log has not settled after this long is settled against the array (default: derived from the route timeout). */
  pendingAfterMs?: number;
  /** How the edge asks for decisions: serve's HTTP check server (default, as the chart ships it) or the gRPC Check. */
  transport?: 'grpc' | 'http';
  logger?: Logger;
}

export interface Stack {
  /** https://127.0.0.1:<port> of the edge Envoy: arrays behind it, and the admin API under /proxy/. */
  edgeUrl: string;
  /** The edge Envoy's own admin interface, 127.0.0.1:<port>. */
  envoyAdmin: string;
  envoy: Started;
  /** http://127.0.0.1:<port>/metrics of the service (its admin listener, not behind the edge). */
  metricsUrl: string;
  /** Stops Envoy, then the service. */
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { workspace } = options;
  const serveConfig = parseServeConfig({
    listen: '127.0.0.1:0',
    ...(options.transport !== 'grpc' && { httpCheckListen: '127.0.0.1:0' }),
    adminListen: '127.0.0.1:0',
    resourcesDir: workspace.resourcesDir,
    secretsDir: workspace.secretsDir,
    signingKeysDir: workspace.keysDir,
    defaultKid: SIGNING_KEY_ID,
    redisUrl: options.redisUrl,
    arrayCaFile: workspace.arrayCaFile,
    routeTimeoutMs: options.routeTimeoutMs,
    pendingAfterMs: options.pendingAfterMs,
    drainMs: 1000,
  });
  const service = await startService({ ...serveConfig, resolveIntervalMs: Math.max(100, Math.floor(serveConfig.pendingAfterMs / 2)) }, options.logger ?? silentLogger);
  let envoy: Started | undefined;
  const stop = async () => {
    await envoy?.stop();
    await service.close();
  };
  try {
    const build = await loadResourceDirectory(workspace.resourcesDir, 1);
    if (!build.ok) throw new ResourceLoadError(workspace.resourcesDir, build.errors);
    const [edgePort, adminPort] = [await freePort(), await freePort()];
    const config = renderEdgeConfig({
      listen: { address: '127.0.0.1', port: edgePort },
      tls: { certFile: workspace.edgeCertFile, keyFile: workspace.edgeKeyFile },
      authz: { address: `127.0.0.1:${service.checkPort}`, ...(service.httpCheckPort !== undefined && { httpAddress: `127.0.0.1:${service.httpCheckPort}` }) },
      adminApi: { address: `127.0.0.1:${service.adminPort!}` },
      envoyAdmin: { address: '127.0.0.1', port: adminPort },
      storage: [...build.snapshot.storage.values()],
      caFile: workspace.arrayCaFile,
      // Cold lookups (array login, pool list) on a loaded 2-core machine can outlast the 500 ms default.
      authzTimeoutMs: 5000,
      routeTimeoutMs: serveConfig.routeTimeoutMs,
    });
    const configFile = path.join(workspace.dir, 'edge-envoy.json');
    await writeFile(configFile, JSON.stringify(config));
    // Drained as the chart's preStop hook drains it (envoy/drain.ts).
    envoy = start(envoyBin, ['-c', configFile, '--use-dynamic-base-id', '--log-level', 'warn', ...envoyDrainArgs(DEFAULT_DRAIN_TIMEOUT_SECONDS)]);
    await waitForPort(edgePort);
    await waitForClusterHealth(adminPort, AUTHZ_CLUSTER, true);
    if (service.httpCheckPort !== undefined) await waitForClusterHealth(adminPort, AUTHZ_HTTP_CLUSTER, true);
    return { edgeUrl: `https://127.0.0.1:${edgePort}`, envoyAdmin: `127.0.0.1:${adminPort}`, envoy, metricsUrl: `http://127.0.0.1:${service.adminPort!}/metrics`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
