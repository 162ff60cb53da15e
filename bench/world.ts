// The one storage world every contender decides about: a tenant with an unlimited role on one
// PowerFlex pool of one system, and its Bearer token. Random secret per run; nothing persists.
import { randomBytes } from 'node:crypto';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, mintTokenPair } from '../src/tokens/mint.js';
import type { RequestSpec, DecisionKind } from './loadgen/request.js';

export interface BenchWorld {
  /** HS256 signing secret shared by our service and the OPA-Envoy policy. */
  secret: Buffer;
  kid: string;
  issuer: string;
  audience: string;
  tenant: string;
  role: string;
  systemId: string;
  poolId: string;
  poolName: string;
  /** Unlimited (Dell's 0) so no create is refused for quota: every create exercises the reserve. */
  quotaKiB: number;
  sizeKiB: number;
  arrayUser: string;
  arrayPassword: string;
  /** Where the sidecar says the array is (Forwarded for=); the fake gateway's URL once it runs. */
  endpoint: string;
  token: string;
  /** Distinguishes this run's volume names from any earlier run's in a shared ledger. */
  runId: string;
}

export async function benchWorld(endpoint = 'https://127.0.0.1:9'): Promise<BenchWorld> {
  // ASCII, because Rego's io.jwt.decode_verify takes the HS256 secret as a string.
  const secret = Buffer.from(randomBytes(36).toString('base64url'));
  const kid = 'bench';
  const base = {
    secret,
    kid,
    issuer: DEFAULT_ISSUER,
    audience: DEFAULT_AUDIENCE,
    tenant: 'bench-tenant',
    role: 'bench-unlimited',
    systemId: '542a2d5f5122210f',
    poolId: 'ae376b0300000000',
    poolName: 'bronze',
    quotaKiB: 0,
    sizeKiB: 8388608,
    arrayUser: 'admin',
    arrayPassword: randomBytes(12).toString('base64url'),
    endpoint,
    runId: randomBytes(4).toString('hex'),
  };
  const { access } = await mintTokenPair({
    keys: { defaultKid: kid, keys: new Map([[kid, secret]]) },
    subject: 'csm-tenant',
    group: base.tenant,
    roles: [base.role],
    // Longer than any bench run: an expired token would turn the measurement into 401s.
    accessTtlSeconds: 6 * 3600,
    refreshTtlSeconds: 6 * 3600,
  });
  return { ...base, token: access };
}

/**
 * What the load generator sends for `kind` in load job number `job`: volume names
 * `b<runId>-<job>-<8 digits>` (≤ 31 characters, PowerFlex's limit) never repeat within a run.
 */
export function requestSpec(world: BenchWorld, kind: DecisionKind, job: number): RequestSpec {
  return {
    kind,
    token: world.token,
    systemId: world.systemId,
    endpoint: world.endpoint,
    poolId: world.poolId,
    sizeKiB: world.sizeKiB,
    volumePrefix: `b${world.runId}-${job}`,
  };
}
