// The admin side of storage-authz for one workspace: the decision service (Check + access log,
// in this process) and a real edge Envoy in front of it, rendered from the workspace's Storage
// objects. Used by the demo and by the PowerFlex end-to-end tests.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import { createAdapters } from '../arrays/registry.js';
import { createCheckServer } from '../check/server.js';
import { renderEdgeConfig, AUTHZ_CLUSTER } from '../envoy/edge.js';
import type { Ledger } from '../ledger/types.js';
import { confirmFromAccessLog, startPendingResolver } from '../pipeline/confirm/confirm.js';
import { createDecider } from '../pipeline/pipeline.js';
import { WasmPolicyEngine } from '../pipeline/policy/wasmEngine.js';
import { DirectoryResources } from '../resources/directory.js';
import { silentLogger, type Logger } from '../telemetry/log.js';
import { TokenVerifier } from '../tokens/verify.js';
import { freePort, waitForPort } from '../../test/support/ports.js';
import { start, type Started } from '../../test/support/process.js';
import { envoyBin } from '../../test/support/tools.js';
import type { Workspace } from './workspace.js';

export interface StackOptions {
  workspace: Workspace;
  ledger: Ledger;
  logger?: Logger;
  /** A reservation whose access-log entry has not arrived after this long is resolved against the array. */
  pendingAfterMs?: number;
}

export interface Stack {
  /** https://127.0.0.1:<port> of the edge Envoy. */
  edgeUrl: string;
  resources: DirectoryResources;
  envoy: Started;
  /** Stops Envoy, the service and its adapters (not the ledger: the caller owns it). */
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { workspace, ledger } = options;
  const logger = options.logger ?? silentLogger;
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step();
  };
  try {
    const resources = await DirectoryResources.open(workspace.resourcesDir, { secretsDir: workspace.secretsDir, logger });
    stops.push(() => resources.close());
    const policy = await WasmPolicyEngine.load();
    policy.setRoles(resources.current().roles.values());
    stops.push(resources.onChange((snapshot) => policy.setRoles(snapshot.roles.values())));

    const adapters = createAdapters({ ca: await readFile(workspace.arrayCaFile, 'utf8') });
    stops.push(() => adapters.close());
    const verifier = new TokenVerifier({ keys: () => workspace.signingKeys });
    const decide = createDecider({ verifier, resources, adapters: adapters.registry, policy, ledger, logger });
    const server = createCheckServer({ decide, onAccessLog: confirmFromAccessLog(ledger), logger });
    const authzPort = await server.listen('127.0.0.1:0');
    server.setServing(true);
    stops.push(() => server.close(1000));
    const resolver = startPendingResolver({
      ledger, resources, adapters: adapters.registry, logger,
      olderThanMs: options.pendingAfterMs ?? 30_000,
      intervalMs: Math.max(100, (options.pendingAfterMs ?? 30_000) / 2),
    });
    stops.push(() => resolver.stop());

    const [edgePort, adminPort] = [await freePort(), await freePort()];
    const config = renderEdgeConfig({
      listen: { address: '127.0.0.1', port: edgePort },
      tls: { certFile: workspace.edgeCertFile, keyFile: workspace.edgeKeyFile },
      authz: { address: `127.0.0.1:${authzPort}` },
      envoyAdmin: { address: '127.0.0.1', port: adminPort },
      storage: [...resources.current().storage.values()],
      caFile: workspace.arrayCaFile,
      // Cold lookups (login, pool list) on a loaded 2-core machine can take more than the 500 ms default.
      authzTimeoutMs: 5000,
    });
    const configFile = path.join(workspace.dir, 'edge-envoy.json');
    await writeFile(configFile, JSON.stringify(config));
    const envoy = start(envoyBin, ['-c', configFile, '--use-dynamic-base-id', '--log-level', 'warn']);
    stops.push(() => envoy.stop());
    await waitForPort(edgePort);
    await waitUntilAuthzHealthy(adminPort);
    return { edgeUrl: `https://127.0.0.1:${edgePort}`, resources, envoy, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The edge sends no Check to a service its health check has not seen SERVING: wait for that. */
async function waitUntilAuthzHealthy(adminPort: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await request(`http://127.0.0.1:${adminPort}/clusters`).catch(() => undefined);
    const text = response ? await response.body.text() : '';
    if (new RegExp(`^${AUTHZ_CLUSTER}::[^\\n]*::health_flags::healthy$`, 'm').test(text)) return;
    if (Date.now() > deadline) throw new Error(`edge Envoy never saw the decision service healthy:\n${text.slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
