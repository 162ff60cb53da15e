// The one storage world every contender decides about: a tenant bound to one role with a huge quota
// (so no create is refused and every create takes the reserve path) on one PowerFlex pool of one
// system. Each contender verifies tokens with its own signing secret, so each has its own token.
import { randomBytes } from 'node:crypto';
import { DEFAULT_POOLS } from '../src/fakes/powerflex/gateway.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import type { SigningKeySet } from '../src/tokens/types.js';
import type { RequestSpec, DecisionKind } from './loadgen/request.js';

const POOL = DEFAULT_POOLS[0]!;

export interface BenchWorld {
  tenant: string;
  systemId: string;
  poolId: string;
  poolName: string;
  /** Far above what a run can create (8 GiB × millions), yet a limited quota, so the arithmetic runs. */
  quotaGiB: number;
  sizeKiB: number;
  /** The array endpoint the sidecar names in `Forwarded: for=` (the fake gateway's URL). */
  endpoint: string;
  /** Distinguishes this run's volume names from any earlier run's in a shared ledger. */
  runId: string;
}

export function benchWorld(array: { endpoint: string; systemId: string }): BenchWorld {
  return {
    tenant: 'bench-tenant',
    systemId: array.systemId,
    poolId: POOL.id,
    poolName: POOL.name,
    quotaGiB: 1_000_000_000,
    sizeKiB: 8 * 1024 * 1024,
    endpoint: array.endpoint,
    runId: randomBytes(3).toString('hex'),
  };
}

/** A tenant access token that outlives any bench run (an expired one would measure 401s). */
export async function tenantToken(world: BenchWorld, keys: SigningKeySet, role: string): Promise<string> {
  const { access } = await mintTokenPair({ keys, subject: 'csm-tenant', group: world.tenant, roles: [role], accessTtlSeconds: 6 * 3600, refreshTtlSeconds: 6 * 3600 });
  return access;
}

/**
 * What the load generator sends for `kind` in load job number `job`: volume names
 * `b<runId>-<job>-<8 digits>` (≤ 31 characters, PowerFlex's limit) never repeat within a run.
 */
export function requestSpec(world: BenchWorld, kind: DecisionKind, job: number, token: string): RequestSpec {
  return {
    kind,
    token,
    systemId: world.systemId,
    endpoint: world.endpoint,
    poolId: world.poolId,
    sizeKiB: world.sizeKiB,
    volumePrefix: `b${world.runId}-${job}`,
  };
}
