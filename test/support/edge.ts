// The real edge Envoy for sidecar end-to-end tests: TLS with the test's certificate, ext_authz to a
// decision service on loopback, the admin API under /proxy/, one cluster per Storage.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderEdgeConfig } from '../../src/envoy/edge.js';
import { freePort, waitForPort } from '../../src/harness/ports.js';
import { start, type Started } from '../../src/harness/process.js';
import { envoyBin } from '../../src/harness/tools.js';
import type { StorageSystem } from '../../src/resources/types.js';
import { generateServingCertificate } from '../../src/sidecar/certificates.js';

export interface TestEdgeOptions {
  /** Where the edge's certificate, key, the array CA and the bootstrap are written. */
  dir: string;
  /** PEM the edge verifies the arrays with. */
  arrayCa: string;
  authzPort: number;
  adminApiPort: number;
  storage: readonly StorageSystem[];
}

/** Starts the edge Envoy on a free loopback port with a fresh certificate (`ca`: its PEM); resolves once it listens. */
export async function startTestEdge(options: TestEdgeOptions): Promise<{ port: number; envoy: Started; ca: string }> {
  const { dir } = options;
  await writeFile(path.join(dir, 'array-ca.pem'), options.arrayCa);
  const certificate = await generateServingCertificate(new Date(Date.now() - 60_000), 24 * 3600_000);
  await writeFile(path.join(dir, 'edge-cert.pem'), certificate.certPem);
  await writeFile(path.join(dir, 'edge-key.pem'), certificate.keyPem);
  const port = await freePort();
  const edgeConfig = renderEdgeConfig({
    listen: { address: '127.0.0.1', port },
    tls: { certFile: path.join(dir, 'edge-cert.pem'), keyFile: path.join(dir, 'edge-key.pem') },
    authz: { address: `127.0.0.1:${options.authzPort}` },
    adminApi: { address: `127.0.0.1:${options.adminApiPort}` },
    envoyAdmin: { address: '127.0.0.1', port: await freePort() },
    storage: options.storage,
    caFile: path.join(dir, 'array-ca.pem'),
    authzTimeoutMs: 5000,
  });
  await writeFile(path.join(dir, 'edge-envoy.json'), JSON.stringify(edgeConfig));
  const envoy = start(envoyBin, ['-c', path.join(dir, 'edge-envoy.json'), '--use-dynamic-base-id', '--log-level', 'warn']);
  await waitForPort(port).catch((error: Error) => { throw new Error(`edge Envoy did not start: ${error.message}\n${envoy.output()}`); });
  return { port, envoy, ca: certificate.certPem };
}
