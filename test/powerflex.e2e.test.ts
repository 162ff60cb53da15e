// PowerFlex end to end (issue 4): a CSI-driver-shaped client → real edge Envoy (TLS, ext_authz with
// the body, access-log stream) → the decision service → fake PowerFlex gateway, with quota and
// ownership in a real Redis. Only the array is faked.
import { expect } from 'chai';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import type { UsageRow } from '../src/ledger/types.js';
import { PowerFlexDriver, type Reply } from '../src/demo/driver.js';
import { startStack, type Stack } from '../src/demo/stack.js';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from './fakes/powerflex/gateway.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { waitFor } from './support/wait.js';

const BRONZE = DEFAULT_POOLS[0]!;
const QUOTA_GIB = 64;
const SDC = '34e49c2000000004';

describe('PowerFlex end to end (real Envoy, real Redis, fake gateway)', function () {
  this.timeout(120_000);

  let gateway: FakePowerFlexGateway;
  let redis: RunningRedis;
  let ledger: RedisLedger;
  let workspace: Workspace;
  let stack: Stack;
  const drivers: Record<string, PowerFlexDriver> = {};
  let nameCounter = 0;

  before(async () => {
    gateway = await FakePowerFlexGateway.start();
    redis = await startRedis();
    ledger = await RedisLedger.connect({ url: redis.url });
    workspace = await createWorkspace({
      array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: 'admin', password: 'Password123!' },
      pool: BRONZE.name,
      quotaGiB: QUOTA_GIB,
      tenants: [{ name: 'team-a', approveSdc: true }, { name: 'team-b', approveSdc: false }, { name: 'team-c', approveSdc: false }],
    });
    stack = await startStack({ workspace, ledger });
    for (const tenant of ['team-a', 'team-b', 'team-c']) {
      const { access } = await mintTokenPair({
        keys: workspace.signingKeys, subject: 'csm-tenant', group: tenant, roles: [workspace.roleName], accessTtlSeconds: 3600, refreshTtlSeconds: 7200,
      });
      drivers[tenant] = new PowerFlexDriver({ edgeUrl: stack.edgeUrl, edgeCa: workspace.edgeCa, accessToken: access, systemId: gateway.systemId, arrayEndpoint: gateway.url });
    }
  });

  after(async () => {
    await Promise.all(Object.values(drivers).map((driver) => driver.close()));
    await stack?.stop();
    await ledger?.close();
    await redis?.stop();
    await gateway?.stop();
    await workspace?.remove();
  });

  const driver = (tenant: string): PowerFlexDriver => drivers[tenant]!;
  const uniqueName = (prefix: string) => `${prefix}-${++nameCounter}`;

  async function usage(tenant: string): Promise<{ usedKiB: number; reservedKiB: number }> {
    const rows: UsageRow[] = await ledger.usage(tenant);
    const row = rows.find((candidate) => candidate.pool === BRONZE.name);
    return { usedKiB: row?.usedKiB ?? 0, reservedKiB: row?.reservedKiB ?? 0 };
  }

  /** Reservations are confirmed by Envoy's access-log stream, which arrives after the response. */
  async function settled(tenant: string, usedKiB: number): Promise<void> {
    await waitFor(async () => {
      const now = await usage(tenant);
      return now.reservedKiB === 0 && now.usedKiB === usedKiB;
    }, `usage of ${tenant} to settle at ${usedKiB / GIB_IN_KIB} GiB`);
  }

  async function create(tenant: string, name: string, gib = 8): Promise<Reply & { id: string }> {
    const reply = await driver(tenant).createVolume(name, BRONZE.id, gib * GIB_IN_KIB);
    const id = typeof reply.body === 'object' && reply.body !== null ? String((reply.body as { id?: unknown }).id) : '';
    return { ...reply, id };
  }

  it('answers the driver login itself: the gateway never sees it', async () => {
    const before = gateway.requestsTo('/api/login').length;
    const reply = await driver('team-a').login();
    expect(reply.status).to.equal(200);
    expect(reply.body).to.be.a('string');
    expect(gateway.requestsTo('/api/login').length).to.equal(before);
  });
});
