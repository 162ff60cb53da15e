// The full chain a CSI driver's request takes: sidecar Envoy (TLS on localhost, Dell's Forwarded
// values) → edge Envoy → array. "On" is the real `storage-authz sidecar` (its Envoy injects the
// tenant token from a file; the sidecar's Check runs only around a token's expiry, never in a run)
// in front of the edge with ext_authz on; "off" is an Envoy from the same sidecar bootstrap renderer
// with ext_authz disabled, in front of the edge with ext_authz off.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCertificateRotation, type CertificateRotation } from '../../src/sidecar/certificates.js';
import { parseProxyHost } from '../../src/sidecar/config.js';
import { renderProxyCaSds, renderSidecarEnvoyBootstrap } from '../../src/sidecar/envoyConfig.js';
import { renderAccessTokenSds, renderTokenPathRuntime } from '../../src/sidecar/tokenFeed.js';
import { silentLogger } from '../../src/telemetry/log.js';
import { mintTokenPair } from '../../src/tokens/mint.js';
import { freePort, waitForPort } from '../../src/harness/ports.js';
import { envoyBin } from '../../src/harness/tools.js';
import type { ArraySide } from '../servers/our-service.js';
import { typedConfigs } from '../support/bootstrap.js';
import { childPids } from '../support/procfs.js';
import { compiledEntry, startPinned, type PinnedProcess } from '../support/spawn.js';
import { withExtAuthzDisabled } from './ext-authz-off.js';

const PLUGIN = 'csi-vxflexos';

export interface Sidecar {
  /** https://127.0.0.1:<port>, where the driver is pointed. */
  origin: string;
  /** Its processes, for CPU accounting. */
  processes: Array<{ name: string; pid: number }>;
  stop(): Promise<void>;
}

/** The real sidecar (`src/main.ts sidecar`, its own process and Envoy) in front of `edgePort`. */
export async function startRealSidecar(array: ArraySide, edgePort: number, cpus: string | undefined): Promise<Sidecar> {
  const { workspace, world } = array;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-sidecar-'));
  const [listenPort, adminPort] = [await freePort(), await freePort()];
  const tokensDir = path.join(dir, 'tokens');
  const { access, refresh } = await mintTokenPair({
    keys: workspace.signingKeys, subject: 'csm-tenant', group: world.tenant, roles: [workspace.roleName],
    // Long enough that no proactive refresh happens during the run.
    accessTtlSeconds: 6 * 3600, refreshTtlSeconds: 12 * 3600,
  });
  writeFileSync(path.join(dir, 'driver-config.yaml'), JSON.stringify([{ endpoint: `https://localhost:${listenPort}`, systemID: world.systemId, intendedEndpoint: world.endpoint }]));
  mkdirSync(tokensDir, { mode: 0o700 });
  writeFileSync(path.join(tokensDir, 'access'), access, { mode: 0o600 });
  writeFileSync(path.join(tokensDir, 'refresh'), refresh, { mode: 0o600 });
  const sidecar = startPinned(cpus, process.execPath, [
    compiledEntry('src/main.ts'), 'sidecar',
    '--proxy-host', `127.0.0.1:${edgePort}`, '--plugin', PLUGIN,
    '--driver-config', path.join(dir, 'driver-config.yaml'), '--tokens-dir', tokensDir,
    '--ca-file', workspace.edgeCertFile, '--envoy-bin', envoyBin,
    '--envoy-admin-port', String(adminPort), '--work-dir', path.join(dir, 'work'), '--log-level', 'warn',
  ]);
  const stop = async (): Promise<void> => {
    await sidecar.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(listenPort, '127.0.0.1', 60_000);
  } catch (error) {
    await stop();
    throw new Error(`the sidecar did not start: ${(error as Error).message}\n${sidecar.output().slice(-3000)}`, { cause: error });
  }
  const processes = [{ name: 'sidecar process (token holder)', pid: sidecar.pid }, ...childPids(sidecar.pid).map((pid) => ({ name: 'sidecar Envoy', pid }))];
  return { origin: `https://127.0.0.1:${listenPort}`, processes, stop };
}

/**
 * The sidecar bootstrap with its injector writing `authorization` verbatim (no `Bearer ` prefix):
 * with ext_authz off at the edge nothing turns a tenant token into the array's credential, so the
 * off twin injects the array's own, through the same filter.
 */
export function injectingVerbatim(bootstrap: object): object {
  const copy = structuredClone(bootstrap);
  const injectors = typedConfigs(copy, 'injected_credentials.generic.v3.Generic');
  if (injectors.length !== 1) throw new Error(`expected one generic credential injector in the sidecar bootstrap, found ${injectors.length}`);
  injectors[0]!['header_value_prefix'] = '';
  return copy;
}

/** The sidecar's Envoy alone, ext_authz disabled: the same hop without the token injection. */
export async function startPlainSidecarEnvoy(array: ArraySide, edgePort: number, cpus: string | undefined, authorization: string): Promise<Sidecar> {
  const { workspace, world } = array;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-sidecar-off-'));
  const [listenPort, adminPort] = [await freePort(), await freePort()];
  let certificates: CertificateRotation | undefined;
  let envoy: PinnedProcess | undefined;
  const stop = async (): Promise<void> => {
    await envoy?.stop();
    certificates?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    certificates = await startCertificateRotation({ dir: path.join(dir, 'certs'), logger: silentLogger });
    const proxyCaSdsPath = path.join(dir, 'proxy-ca.sds.json');
    writeFileSync(proxyCaSdsPath, renderProxyCaSds(workspace.edgeCertFile), { mode: 0o600 });
    // The array's credential to inject (the edge has ext_authz off) and the sidecar Check switched off.
    const [tokenSdsPath, runtimePath] = [path.join(dir, 'token.sds.json'), path.join(dir, 'token-path.rtds.json')];
    writeFileSync(tokenSdsPath, renderAccessTokenSds(authorization, 1), { mode: 0o600 });
    writeFileSync(runtimePath, renderTokenPathRuntime(false), { mode: 0o600 });
    const bootstrap = renderSidecarEnvoyBootstrap({
      plugin: PLUGIN,
      proxy: parseProxyHost(`127.0.0.1:${edgePort}`),
      trust: { kind: 'ca-bundle', caFile: workspace.edgeCertFile },
      arrays: [{ systemID: world.systemId, listenPort, intendedEndpoint: world.endpoint }],
      authzSocketPath: path.join(dir, 'unused-authz.sock'),
      certificateSdsPath: certificates.sdsPath,
      certificateDir: path.join(dir, 'certs'),
      proxyCaSdsPath,
      tokenSdsPath,
      tokenDir: dir,
      runtimePath,
      runtimeDir: dir,
      admin: { kind: 'port', port: adminPort },
    });
    const file = path.join(dir, 'envoy.json');
    writeFileSync(file, JSON.stringify(withExtAuthzDisabled(injectingVerbatim(bootstrap) as typeof bootstrap)));
    envoy = startPinned(cpus, envoyBin, ['-c', file, '--disable-hot-restart', '--concurrency', '1', '--log-level', 'warn']);
    await waitForPort(listenPort);
  } catch (error) {
    const output = envoy?.output().slice(-3000) ?? '';
    await stop();
    throw new Error(`the plain sidecar Envoy did not start: ${(error as Error).message}\n${output}`, { cause: error });
  }
  return { origin: `https://127.0.0.1:${listenPort}`, processes: [{ name: 'sidecar Envoy', pid: envoy.pid }], stop };
}
