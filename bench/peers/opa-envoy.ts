// Starts the OPA-Envoy peer (opa-envoy-plugin, built by bench/setup.sh) with bench/opa-envoy/policy.rego
// and this run's world as data, serving Check on a free loopback port.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../src/tokens/mint.js';
import { freePort, waitForPort } from '../../src/harness/ports.js';
import { repoRoot } from '../../src/harness/tools.js';
import { startPinned, type PinnedProcess } from '../support/spawn.js';
import { tenantToken, type BenchWorld } from '../world.js';

export const opaEnvoyBin = path.join(repoRoot, '.tools/bin/opa-envoy-plugin');
const POLICY = path.join(repoRoot, 'bench/opa-envoy/policy.rego');
const KID = 'bench';
const ROLE = 'bench-role';

/** What the policy knows (see the header of policy.rego); `secret` is ASCII because Rego takes it as a string. */
export function opaEnvoyData(world: BenchWorld, secret: string, quotaKiB: number): object {
  return {
    bench: {
      secret,
      issuer: DEFAULT_ISSUER,
      audience: DEFAULT_AUDIENCE,
      tenants: { [world.tenant]: { revoked: false } },
      systems: { [world.systemId]: { credentials: `Basic ${Buffer.from(`admin:${randomBytes(12).toString('base64url')}`).toString('base64')}` } },
      pools: { [world.systemId]: { [world.poolId]: world.poolName } },
      roles: { [ROLE]: { system_types: { powerflex: { system_ids: { [world.systemId]: { pool_quotas: { [world.poolName]: quotaKiB } } } } } } },
    },
  };
}

export interface PeerProcess extends PinnedProcess {
  target: string;
  /** A tenant token this peer accepts. */
  token: string;
}

/** `quotaKiB` defaults to the world's quota; a test passes a small one to see a denial. */
export async function startOpaEnvoy(world: BenchWorld, cpus: string | undefined, quotaKiB = world.quotaGiB * 1024 * 1024): Promise<PeerProcess> {
  const secret = randomBytes(36).toString('base64url');
  const token = await tenantToken(world, { defaultKid: KID, keys: new Map([[KID, Buffer.from(secret)]]) }, ROLE);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-opa-envoy-'));
  const dataFile = path.join(dir, 'data.json');
  writeFileSync(dataFile, JSON.stringify(opaEnvoyData(world, secret, quotaKiB)), { mode: 0o600 });
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
    throw new Error(`opa-envoy-plugin did not start: ${(error as Error).message}\n${started.output().slice(-3000)}`, { cause: error });
  }
  return { ...started, stop, target: `127.0.0.1:${grpcPort}`, token };
}
