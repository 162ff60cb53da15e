// The admin's production chain for end-to-end tests: the real `storage-authz serve` process and the
// real Envoy with the bootstrap `storage-authz render-edge-config` prints for the same resources.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Workspace } from '../../src/demo/workspace.js';
import { AUTHZ_CLUSTER } from '../../src/envoy/edge.js';
import { waitForClusterHealth } from '../../src/harness/envoy.js';
import { freePort, waitForPort } from '../../src/harness/ports.js';
import { start, waitForOutput, type Started } from '../../src/harness/process.js';
import { envoyBin, repoRoot } from '../../src/harness/tools.js';
import type { DecisionRecord } from '../../src/telemetry/audit.js';

export const CLI = [path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), path.join(repoRoot, 'src/main.ts')];

export interface ServeAndEdge {
  service: Started;
  envoy: Started;
  authzPort: number;
  adminApiPort: number;
  edgePort: number;
  envoyAdminPort: number;
}

/** Starts serve (with `serveArgs` added) on free ports, then the edge rendered for it; resolves once the edge sees serve healthy. */
export async function startServeAndEdge(workspace: Workspace, serveArgs: string[], edgeArgs: string[] = []): Promise<ServeAndEdge> {
  const [authzPort, adminApiPort] = [await freePort(), await freePort()];
  const service = start(process.execPath, [
    ...CLI, 'serve',
    '--listen', `127.0.0.1:${authzPort}`,
    '--admin-listen', `127.0.0.1:${adminApiPort}`,
    '--resources-dir', workspace.resourcesDir,
    '--secrets-dir', workspace.secretsDir,
    '--signing-keys-dir', workspace.keysDir,
    '--default-kid', workspace.signingKeys.defaultKid,
    '--array-ca-file', workspace.arrayCaFile,
    '--drain-ms', '2000',
    ...serveArgs,
  ]);
  await waitForOutput(service, /storage-authz serving/);

  const [edgePort, envoyAdminPort] = [await freePort(), await freePort()];
  const rendered = start(process.execPath, [
    ...CLI, 'render-edge-config', '--format', 'json',
    '--resources-dir', workspace.resourcesDir,
    '--cert-file', workspace.edgeCertFile, '--key-file', workspace.edgeKeyFile,
    '--listen-address', '127.0.0.1', '--listen-port', String(edgePort),
    '--authz', `127.0.0.1:${authzPort}`,
    '--admin-api', `127.0.0.1:${adminApiPort}`,
    '--envoy-admin-port', String(envoyAdminPort),
    '--ca-file', workspace.arrayCaFile,
    ...edgeArgs,
  ]);
  await new Promise((resolve) => rendered.child.once('exit', resolve));
  expect(rendered.child.exitCode, rendered.output()).to.equal(0);
  const configFile = path.join(workspace.dir, 'edge.json');
  await writeFile(configFile, rendered.output());
  const envoy = start(envoyBin, ['-c', configFile, '--use-dynamic-base-id', '--log-level', 'warn']);
  await waitForPort(edgePort);
  await waitForClusterHealth(envoyAdminPort, AUTHZ_CLUSTER, true);
  return { service, envoy, authzPort, adminApiPort, edgePort, envoyAdminPort };
}

/** The audit records serve logged so far (pino JSON lines `"msg":"decision"`, one `decision` object each). */
export function loggedDecisions(service: Started): DecisionRecord[] {
  return service
    .output()
    .split('\n')
    .filter((line) => line.includes('"msg":"decision"'))
    .map((line) => (JSON.parse(line) as { decision: DecisionRecord }).decision);
}
