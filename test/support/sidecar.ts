// The tenant's side for end-to-end tests: the real `storage-authz sidecar` process (and its Envoy)
// listening on https://localhost:<port> for each array, forwarding to the edge with a token pair.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../../src/harness/ports.js';
import { start, waitForOutput, type Started } from '../../src/harness/process.js';
import { envoyBin, repoRoot } from '../../src/harness/tools.js';

export interface SidecarArray {
  /** The array's real endpoint (the `intendedEndpoint` of Dell's driver config). */
  endpoint: string;
  systemId: string;
}

export interface SidecarOptions {
  /** Working directory (driver config, tokens, the sidecar's Envoy files). */
  dir: string;
  edgePort: number;
  /** PEM the sidecar verifies the edge with. */
  edgeCa: string;
  arrays: readonly SidecarArray[];
  tokens: { access: string; refresh: string };
}

export interface RunningSidecar {
  /** The local port per array, in the order given. */
  ports: number[];
  process: Started;
  stop(): Promise<void>;
}

export async function startSidecar(options: SidecarOptions): Promise<RunningSidecar> {
  const { dir } = options;
  await mkdir(path.join(dir, 'tokens'), { recursive: true });
  const ports = await Promise.all(options.arrays.map(() => freePort()));
  await writeFile(path.join(dir, 'config'), JSON.stringify(options.arrays.map((array, index) => ({
    username: 'placeholder', password: 'placeholder', intendedEndpoint: array.endpoint,
    endpoint: `https://localhost:${ports[index]!}`, systemID: array.systemId, insecure: true,
  }))));
  await writeFile(path.join(dir, 'tokens', 'access'), options.tokens.access);
  await writeFile(path.join(dir, 'tokens', 'refresh'), options.tokens.refresh);
  await writeFile(path.join(dir, 'proxy-ca.pem'), options.edgeCa);
  const sidecar = start(process.execPath, [
    '--import', 'tsx', path.join(repoRoot, 'src/main.ts'), 'sidecar',
    '--driver-config', path.join(dir, 'config'),
    '--tokens-dir', path.join(dir, 'tokens'),
    '--ca-file', path.join(dir, 'proxy-ca.pem'),
    '--envoy-bin', envoyBin,
    '--work-dir', path.join(dir, 'sidecar'),
    '--envoy-admin-port', String(await freePort()),
    '--status-listen', `127.0.0.1:${await freePort()}`,
  ], { cwd: repoRoot, env: { ...process.env, PROXY_HOST: `localhost:${options.edgePort}`, PLUGIN_IDENTIFIER: 'powerflex' } });
  try {
    await waitForOutput(sidecar, /"msg":"sidecar ready"/, 60_000);
  } catch (error) {
    await sidecar.stop();
    throw error;
  }
  return { ports, process: sidecar, stop: () => sidecar.stop() };
}
