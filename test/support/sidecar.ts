// The tenant's side for end-to-end tests: the real `storage-authz sidecar` process (and its Envoy)
// listening on https://localhost:<port> for each array, forwarding to the edge with a token pair.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../../src/harness/ports.js';
import { start, waitForOutput, type Started } from '../../src/harness/process.js';
import { envoyBin, repoRoot } from '../../src/harness/tools.js';

export interface SidecarOptions {
  /** Working directory: `config` (the driver secret), `tokens/{access,refresh}`, the sidecar's Envoy files. */
  dir: string;
  edgePort: number;
  /** PEM the sidecar verifies the edge with. */
  edgeCa: string;
  /**
   * The driver secret's entries, given the local port chosen for each array (one per entry), e.g.
   * Dell's legacy form `{intendedEndpoint, endpoint: https://localhost:<port>, systemID, insecure}`.
   */
  driverConfig: (ports: number[]) => unknown;
  arrays: number;
  /** The proxy-authz-tokens pair; or, with `serviceAccountTokenFile`, none (`--identity serviceaccount`). */
  tokens?: { access: string; refresh: string };
  serviceAccountTokenFile?: string;
  /** The driver's PLUGIN_IDENTIFIER (default powerflex). */
  plugin?: string;
}

export interface RunningSidecar {
  /** The local port per array, in the order of the driver config. */
  ports: number[];
  /** The sidecar's `/ready` status listener on 127.0.0.1. */
  statusPort: number;
  process: Started;
  stop(): Promise<void>;
}

/** Dell's legacy driver-secret entry for one array reached through the sidecar at `port`. */
export function legacyEntry(intendedEndpoint: string, systemID: string, port: number): Record<string, unknown> {
  return { username: 'placeholder', password: 'placeholder', intendedEndpoint, endpoint: `https://localhost:${port}`, systemID, insecure: true, isDefault: true };
}

export async function startSidecar(options: SidecarOptions): Promise<RunningSidecar> {
  const { dir } = options;
  await mkdir(path.join(dir, 'tokens'), { recursive: true });
  const ports = await Promise.all(Array.from({ length: options.arrays }, () => freePort()));
  const statusPort = await freePort();
  await writeFile(path.join(dir, 'config'), JSON.stringify(options.driverConfig(ports)));
  if (options.tokens) {
    await writeFile(path.join(dir, 'tokens', 'access'), options.tokens.access);
    await writeFile(path.join(dir, 'tokens', 'refresh'), options.tokens.refresh);
  }
  await writeFile(path.join(dir, 'proxy-ca.pem'), options.edgeCa);
  const sidecar = start(process.execPath, [
    '--import', 'tsx', path.join(repoRoot, 'src/main.ts'), 'sidecar',
    '--driver-config', path.join(dir, 'config'),
    '--tokens-dir', path.join(dir, 'tokens'),
    '--ca-file', path.join(dir, 'proxy-ca.pem'),
    '--envoy-bin', envoyBin,
    '--work-dir', path.join(dir, 'sidecar'),
    '--envoy-admin-port', String(await freePort()),
    '--status-listen', `127.0.0.1:${statusPort}`,
    ...(options.serviceAccountTokenFile ? ['--identity', 'serviceaccount', '--token-file', options.serviceAccountTokenFile] : []),
  ], { cwd: repoRoot, env: { ...process.env, PROXY_HOST: `localhost:${options.edgePort}`, PLUGIN_IDENTIFIER: options.plugin ?? 'powerflex' } });
  try {
    await waitForOutput(sidecar, /"msg":"sidecar ready"/, 60_000);
  } catch (error) {
    await sidecar.stop();
    throw error;
  }
  return { ports, statusPort, process: sidecar, stop: () => sidecar.stop() };
}
