// The storage admin's side for end-to-end tests, in this process: the decision service (real policy,
// adapters, verifier, memory ledger, settled from the access log), the admin API on loopback HTTP, and
// the real edge Envoy in front of both.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminHandler, type AdminTokenDefaults } from '../../src/admin/handler.js';
import { createAdapters } from '../../src/arrays/registry.js';
import type { RequestView } from '../../src/pipeline/types.js';
import { createCheckServer, type AccessLogRecord } from '../../src/check/server.js';
import type { Started } from '../../src/harness/process.js';
import { MemoryLedger } from '../../src/ledger/memory/memoryLedger.js';
import { confirmFromAccessLog } from '../../src/pipeline/confirm/confirm.js';
import { createDecider } from '../../src/pipeline/pipeline.js';
import { WasmPolicyEngine } from '../../src/pipeline/policy/wasmEngine.js';
import type { DirectoryResources } from '../../src/resources/directory.js';
import { silentLogger } from '../../src/telemetry/log.js';
import type { SigningKeySet } from '../../src/tokens/types.js';
import { TokenVerifier } from '../../src/tokens/verify.js';
import { startTestEdge } from './edge.js';

export interface ServiceStackOptions {
  /** Where the edge's files go. */
  dir: string;
  resources: DirectoryResources;
  keys: SigningKeySet;
  /** PEM the service and the edge verify the arrays with. */
  arrayCa: string;
  tokenDefaults?: AdminTokenDefaults;
  /** Sees every Check request before it is decided. */
  observe?: (request: RequestView) => void;
  /** Sees every access-log entry the edge streams, before it is applied. */
  observeAccessLog?: (record: AccessLogRecord) => void;
}

export interface ServiceStack {
  edgePort: number;
  /** PEM of the edge's certificate. */
  edgeCa: string;
  edge: Started;
  ledger: MemoryLedger;
  stop(): Promise<void>;
}

export async function startServiceStack(options: ServiceStackOptions): Promise<ServiceStack> {
  const { resources, keys } = options;
  const policy = await WasmPolicyEngine.load();
  policy.setRoles(resources.current().roles.values());
  const adapters = createAdapters({ ca: options.arrayCa });
  const verifier = new TokenVerifier({ keys: () => keys, clockSkewSeconds: 0 });
  const ledger = new MemoryLedger();
  const decide = createDecider({ verifier, resources, adapters: adapters.registry, policy, ledger, logger: silentLogger });
  const check = createCheckServer({
    decide: (request) => {
      options.observe?.(request);
      return decide(request);
    },
    onAccessLog: (() => {
      const confirm = confirmFromAccessLog(ledger, { resources, adapters: adapters.registry });
      return (record: AccessLogRecord) => {
        options.observeAccessLog?.(record);
        return confirm(record);
      };
    })(),
  });
  const authzPort = await check.listen('127.0.0.1:0');
  check.setServing(true);
  const admin = http.createServer(createAdminHandler({ resources, ledger, verifier, keys: () => keys, logger: silentLogger, ...(options.tokenDefaults && { tokenDefaults: options.tokenDefaults }) }));
  await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
  const edge = await startTestEdge({ dir: options.dir, arrayCa: options.arrayCa, authzPort, adminApiPort: (admin.address() as AddressInfo).port, storage: [...resources.current().storage.values()] });
  return {
    edgePort: edge.port,
    edgeCa: edge.ca,
    edge: edge.envoy,
    ledger,
    async stop() {
      await edge.envoy.stop();
      await new Promise((resolve) => admin.close(resolve));
      await check.close(1000);
      await adapters.close();
    },
  };
}
