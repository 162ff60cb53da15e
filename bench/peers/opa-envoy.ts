// Starts the OPA-Envoy peer (opa-envoy-plugin, built by bench/setup.sh) with bench/opa-envoy/policy.rego
// and this run's world as data, serving Check on a free loopback port.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from '../../test/support/ports.js';
import { repoRoot } from '../../test/support/tools.js';
import { startPinned, type PinnedProcess } from '../support/spawn.js';
import type { BenchWorld } from '../world.js';

export const opaEnvoyBin = path.join(repoRoot, '.tools/bin/opa-envoy-plugin');
const POLICY = path.join(repoRoot, 'bench/opa-envoy/policy.rego');

/** data.bench for the policy (see the header of policy.rego). */
export function opaEnvoyData(world: BenchWorld): object {
  return {
    bench: {
      secret: world.secret.toString('utf8'),
      issuer: world.issuer,
      audience: world.audience,
      tenants: { [world.tenant]: { revoked: false } },
      systems: { [world.systemId]: { credentials: `Basic ${Buffer.from(`${world.arrayUser}:${world.arrayPassword}`).toString('base64')}` } },
      pools: { [world.systemId]: { [world.poolId]: world.poolName } },
      roles: { [world.role]: { system_types: { powerflex: { system_ids: { [world.systemId]: { pool_quotas: { [world.poolName]: world.quotaKiB } } } } } } },
    },
  };
}

export interface PeerProcess extends PinnedProcess {
  target: string;
}

export async function startOpaEnvoy(world: BenchWorld, cpus: string | undefined): Promise<PeerProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-opa-envoy-'));
  const dataFile = path.join(dir, 'data.json');
  writeFileSync(dataFile, JSON.stringify(opaEnvoyData(world)), { mode: 0o600 });
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const started = startPinned(cpus, opaEnvoyBin, [
    'run', '--server', '--log-level', 'error',
    '--addr', `127.0.0.1:${httpPort}`,
    '--set', `plugins.envoy_ext_authz_grpc.addr=127.0.0.1:${grpcPort}`,
    '--set', 'plugins.envoy_ext_authz_grpc.path=bench/authz/result',
    POLICY, dataFile,
  ]);
  const stop = async (graceMs?: number): Promise<void> => {
    await started.stop(graceMs);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(grpcPort);
  } catch (error) {
    await stop();
    throw new Error(`opa-envoy-plugin did not start: ${(error as Error).message}\n${started.output().slice(-3000)}`);
  }
  return { ...started, stop, target: `127.0.0.1:${grpcPort}` };
}
