// Settlement races through the real chain, in the order a race needs: the edge Envoy, `serve` on
// Redis, the fake PowerFlex gateway behind the fault front, which holds chosen requests until the
// test lets them reach the array. Each step waits for what the service reports (its settlement
// counters, its answers), never for time.
import { expect } from 'chai';
import { request } from 'undici';
import { DEFAULT_POOLS, DEFAULT_SDCS, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { waitFor } from '../src/harness/wait.js';
import { startHeldPowerFlex, type HeldPowerFlex } from './support/heldPowerFlex.js';
import { sampleValue, samples } from './support/prometheus.js';
import { startRedis, type RunningRedis } from './support/redis.js';

const BRONZE_ID = DEFAULT_POOLS.find((pool) => pool.name === 'bronze')!.id;
const SDC_ID = DEFAULT_SDCS[0]!.id;

describe('settlement races through the edge (serve on Redis, fake PowerFlex behind the fault front)', function () {
  this.timeout(120_000);
  let redis: RunningRedis;
  let chain: HeldPowerFlex;
  let gateway: HeldPowerFlex['gateway'];
  let front: HeldPowerFlex['front'];
  let stack: HeldPowerFlex['stack'];
  let driver: HeldPowerFlex['driver'];

  before(async () => {
    redis = await startRedis();
    chain = await startHeldPowerFlex({ redisUrl: redis.url, quotaGiB: 64 });
    ({ gateway, front, stack, driver } = chain);
  });
  after(async () => {
    await chain?.stop();
    await redis?.stop();
  });

  /** How many holds of this kind the service settled with this outcome (applied or not). */
  async function settled(kind: string, outcome: string): Promise<number> {
    const all = samples(await (await request(stack.metricsUrl)).body.text());
    return ['true', 'false'].reduce((sum, applied) => sum + (sampleValue(all, 'storage_authz_settlements_total', { kind, outcome, applied }) ?? 0), 0);
  }

  it("an expansion refused while the driver's retry is on its way keeps its increase held: the tenant's other create is denied, and the array stays within the quota", async () => {
    const commitsOfCreates = await settled('reservation', 'committed');
    const created = await driver.createVolume('ta-retried-expand', BRONZE_ID, 8 * GIB_IN_KIB);
    expect(created.status, JSON.stringify(created.body)).to.equal(200);
    const id = (created.body as { id: string }).id;
    // 64 GiB quota: 48 GiB more leaves room for the 8 GiB increase or another 8 GiB volume, not both.
    const filler = await driver.createVolume('ta-filler', BRONZE_ID, 48 * GIB_IN_KIB);
    expect(filler.status, JSON.stringify(filler.body)).to.equal(200);
    // An expansion waits for the array's confirmation of the create (until then it is 409 busy).
    await waitFor(async () => (await settled('reservation', 'committed')) >= commitsOfCreates + 2, 'both creates to be confirmed', 30_000, 20);
    const onArrayKiB = () => gateway.volumes.filter((volume) => volume.name.startsWith('ta-')).reduce((sum, volume) => sum + volume.sizeInKb, 0);

    const isExpand = (method: string, path: string) => method === 'POST' && path === `/api/instances/Volume::${id}/action/setVolumeSize`;
    const first = front.hold(isExpand);
    const attempt = driver.expandVolume(id, 16);
    await first.arrived;
    const second = front.hold(isExpand);
    const retry = driver.expandVolume(id, 16);
    await second.arrived;

    // The array fails attempt 1 (nothing grown), and that refusal is settled first.
    const abortsBefore = await settled('resize', 'aborted');
    first.fail();
    expect((await attempt).status).to.equal(500);
    await waitFor(async () => (await settled('resize', 'aborted')) > abortsBefore, 'the refusal of attempt 1 to be settled', 30_000, 20);

    // Meanwhile another create of the tenant: the retry may still grow the volume, so no room.
    const other = await driver.createVolume('ta-other', BRONZE_ID, 8 * GIB_IN_KIB);
    expect(other.status, JSON.stringify(other.body)).to.equal(507);

    const commitsBefore = await settled('resize', 'committed');
    second.release();
    expect((await retry).status).to.equal(200);
    await waitFor(async () => (await settled('resize', 'committed')) > commitsBefore, "the retry's 2xx to be settled", 30_000, 20);
    expect(onArrayKiB()).to.equal(64 * GIB_IN_KIB);
    // The ledger charges what the array has: the grown volume at 16 GiB.
    const volumes = (await driver.send('GET', '/proxy/volumes/')).body as { name: string; size: number }[];
    expect(volumes.map(({ name, size }) => ({ name, size })).sort((a, b) => a.name.localeCompare(b.name))).to.deep.equal([
      { name: 'ta-filler', size: 48 },
      { name: 'ta-retried-expand', size: 16 },
    ]);

    const deletesBefore = await settled('deletion', 'committed');
    for (const volumeId of [id, (filler.body as { id: string }).id]) expect((await driver.deleteVolume(volumeId)).status).to.equal(200);
    await waitFor(async () => (await settled('deletion', 'committed')) >= deletesBefore + 2, 'both deletes to be confirmed', 30_000, 20);
  });

  it("a delete refused while the driver's retry is on its way to the array: the retry's delete frees the volume in the ledger at once", async () => {
    const created = await driver.createVolume('ta-retried-delete', BRONZE_ID, 8 * GIB_IN_KIB);
    expect(created.status, JSON.stringify(created.body)).to.equal(200);
    const id = (created.body as { id: string }).id;
    expect((await driver.mapVolume(id, SDC_ID)).status).to.equal(200);

    // Attempt 1 and the driver's retry both pass their Checks (the retry finds attempt 1's deletion)
    // before either reaches the array.
    const isRemove = (method: string, path: string) => method === 'POST' && path === `/api/instances/Volume::${id}/action/removeVolume`;
    const first = front.hold(isRemove);
    const attempt = driver.deleteVolume(id);
    await first.arrived;
    const second = front.hold(isRemove);
    const retry = driver.deleteVolume(id);
    await second.arrived;

    // The array refuses attempt 1 (the volume is still mapped), and that refusal is settled first.
    const abortsBefore = await settled('deletion', 'aborted');
    first.release();
    const refused = await attempt;
    expect(refused.status).to.equal(500);
    expect((refused.body as { message?: string }).message).to.match(/not mapped to any SDC/);
    await waitFor(async () => (await settled('deletion', 'aborted')) > abortsBefore, 'the refusal of attempt 1 to be settled', 30_000, 20);

    // The volume is unmapped, then the retry reaches the array and deletes it.
    expect((await driver.unmapVolume(id, SDC_ID)).status).to.equal(200);
    const commitsBefore = await settled('deletion', 'committed');
    second.release();
    expect((await retry).status).to.equal(200);
    await waitFor(async () => (await settled('deletion', 'committed')) > commitsBefore, "the retry's 2xx to be settled", 30_000, 20);

    expect(gateway.volumes.filter((volume) => volume.name === 'ta-retried-delete')).to.deep.equal([]);
    // The tenant's own view of the ledger (Dell's /proxy/volumes/): nothing charged any more.
    const volumes = await driver.send('GET', '/proxy/volumes/');
    expect(volumes.status).to.equal(200);
    expect(volumes.body).to.deep.equal([]);
  });
});
