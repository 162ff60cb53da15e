// The PowerScale end-to-end chain both PowerScale e2e tests run: a fake OneFS with the isiPath, Redis
// and its ledger, `storage-authz serve` + the edge Envoy (one role: the cluster name as system, the
// isiPath as pool), and one real sidecar per tenant with the PowerScale driver secret pointed at it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startStack, type Stack } from '../../src/demo/stack.js';
import { createWorkspace, type Workspace } from '../../src/demo/workspace.js';
import { FakeOneFs } from '../../src/fakes/powerscale/onefs.js';
import { RedisLedger } from '../../src/ledger/redis/redisLedger.js';
import { mintTokenPair } from '../../src/tokens/mint.js';
import { startRedis, type RunningRedis } from './redis.js';
import { startSidecar, type RunningSidecar } from './sidecar.js';

export interface PowerScaleChain<T extends string> {
  array: FakeOneFs;
  ledger: RedisLedger;
  workspace: Workspace;
  stack: Stack;
  sidecars: Record<T, RunningSidecar>;
  /** The tenant's sidecar endpoint, as the driver secret names it. */
  endpoint(tenant: T): string;
  stop(): Promise<void>;
}

export async function startPowerScaleChain<T extends string>(options: { isiPath: string; quotaGiB: number; tenants: readonly T[] }): Promise<PowerScaleChain<T>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'powerscale-chain-'));
  let array: FakeOneFs | undefined;
  let redis: RunningRedis | undefined;
  let ledger: RedisLedger | undefined;
  let workspace: Workspace | undefined;
  let stack: Stack | undefined;
  const sidecars = {} as Record<T, RunningSidecar>;
  const stop = async () => {
    await Promise.all(Object.values<RunningSidecar>(sidecars).map((sidecar) => sidecar.stop()));
    await stack?.stop();
    await ledger?.close();
    await redis?.stop();
    await array?.stop();
    await workspace?.remove();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    array = await FakeOneFs.start();
    array.addDirectory(options.isiPath);
    redis = await startRedis();
    ledger = await RedisLedger.connect({ url: redis.url });
    workspace = await createWorkspace({
      systemType: 'powerscale',
      array: { endpoint: array.url, systemId: array.clusterName, ca: array.ca, username: 'admin', password: 'Password123!' },
      // PowerScale: the role's system is the cluster name, its pool the isiPath (as Dell's roles name them).
      pool: options.isiPath,
      quotaGiB: options.quotaGiB,
      tenants: options.tenants.map((name) => ({ name, approveSdc: false })),
    });
    stack = await startStack({ workspace, redisUrl: redis.url });
    for (const tenant of options.tenants) {
      const tokens = await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: tenant, roles: [workspace.roleName], accessTtlSeconds: 3600, refreshTtlSeconds: 7200 });
      const cluster = array;
      sidecars[tenant] = await startSidecar({
        dir: path.join(dir, tenant), edgePort: Number(new URL(stack.edgeUrl).port), edgeCa: workspace.edgeCa, tokens, plugin: 'powerscale', arrays: 1,
        // The PowerScale driver secret (`isilonClusters: [{clusterName, endpoint, endpointPort, …}]`), pointed at the sidecar.
        driverConfig: ([port]) => ({ isilonClusters: [{ clusterName: cluster.clusterName, username: 'placeholder', password: 'placeholder', endpoint: 'localhost', endpointPort: port, isDefault: true, skipCertificateValidation: true, isiPath: options.isiPath }] }),
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { array, ledger, workspace, stack, sidecars, endpoint: (tenant) => `https://localhost:${sidecars[tenant].ports[0]!}`, stop };
}
