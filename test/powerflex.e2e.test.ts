// PowerFlex end to end (issue 4): a CSI-driver-shaped client → real edge Envoy (TLS, ext_authz with
// the body, access-log stream) → the decision service → fake PowerFlex gateway, with quota and
// ownership in a real Redis. Only the array is faked.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import type { UsageRow } from '../src/ledger/types.js';
import { PowerFlexDriver, type Reply } from '../src/demo/driver.js';
import { startStack, type Stack } from '../src/demo/stack.js';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { waitFor } from '../src/harness/wait.js';

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
    // The test's own client of the service's Redis: it reads usage and ownership as the service wrote them.
    ledger = await RedisLedger.connect({ url: redis.url });
    workspace = await createWorkspace({
      array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: 'admin', password: 'Password123!' },
      pool: BRONZE.name,
      quotaGiB: QUOTA_GIB,
      tenants: [{ name: 'team-a', approveSdc: true }, { name: 'team-b', approveSdc: false }, { name: 'team-c', approveSdc: false }],
    });
    // Short, so the test of a lost access-log entry does not wait long; confirmed holds are unaffected.
    stack = await startStack({ workspace, redisUrl: redis.url, routeTimeoutMs: 3000, pendingAfterMs: 3500 });
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

  describe('quota', () => {
    it('allows creates within quota and denies the one that would exceed it with 507, before the gateway', async () => {
      const names = [uniqueName('quota'), uniqueName('quota')];
      for (const name of names) expect((await create('team-b', name, 32)).status).to.equal(200);
      await settled('team-b', 64 * GIB_IN_KIB);

      const over = uniqueName('quota');
      const denied = await create('team-b', over, 8);
      expect(denied.status).to.equal(507);
      const { message, errorCode, httpStatusCode } = denied.body as { message: string; errorCode: number; httpStatusCode: number };
      expect([errorCode, httpStatusCode]).to.deep.equal([507, 507]);
      for (const part of ['team-b', BRONZE.name, '64 GiB', '8 GiB']) expect(message).to.include(part);
      expect(gateway.requestsTo('/api/types/Volume/instances').filter((request) => request.body.includes(over))).to.deep.equal([]);
      expect((await usage('team-b')).usedKiB).to.equal(64 * GIB_IN_KIB);
    });

    it('releases the reservation of a create the gateway fails, and charges a retried create once', async () => {
      const before = (await usage('team-a')).usedKiB;
      const name = uniqueName('retry');
      gateway.failNext(500, 'injected failure');
      expect((await create('team-a', name)).status).to.equal(500);
      await settled('team-a', before);

      expect((await create('team-a', name)).status).to.equal(200);
      await settled('team-a', before + 8 * GIB_IN_KIB);
      const again = await create('team-a', name);
      expect(again.status).to.equal(500); // the gateway refuses the duplicate name...
      expect((again.body as { message: string }).message).to.match(/already in use/);
      await settled('team-a', before + 8 * GIB_IN_KIB); // ...and the quota charged it once
    });

    it('lets 20 concurrent creates of 8 GiB take exactly the 64 GiB quota, never more', async () => {
      const replies = await Promise.all(Array.from({ length: 20 }, () => create('team-c', uniqueName('burst'))));
      const statuses = replies.map((reply) => reply.status);
      expect(statuses.filter((status) => status === 200)).to.have.length(8);
      expect(statuses.filter((status) => status === 507)).to.have.length(12);
      await settled('team-c', 64 * GIB_IN_KIB);
      const onArray = gateway.volumes.filter((volume) => volume.name.startsWith('burst-'));
      expect(onArray).to.have.length(8);
    });
  });

  it('answers malformed creates with a clear 400 in PowerFlex shape, before the gateway', async () => {
    const creates = () => gateway.requestsTo('/api/types/Volume/instances').length;
    const before = creates();
    const path = '/api/types/Volume/instances/';
    const cases: [unknown, RegExp][] = [
      ['{"name":"k8s-x",', /not valid JSON/],
      [{ name: 'k8s-x', storagePoolId: BRONZE.id, volumeSizeInKb: 'lots' }, /"volumeSizeInKb" must be a positive whole number of KiB, got "lots"/],
      [{ name: 'k8s-x', storagePoolId: BRONZE.id }, /"volumeSizeInKb" must be a positive whole number of KiB/],
      [{ name: 'k8s-x', storagePoolId: 'ffff000000000000', volumeSizeInKb: '8388608' }, /unknown storage pool id "ffff000000000000"/],
    ];
    for (const [body, message] of cases) {
      const reply = await driver('team-a').send('POST', path, body);
      expect(reply.status, JSON.stringify(body)).to.equal(400);
      expect(reply.body).to.include({ errorCode: 400, httpStatusCode: 400 });
      expect((reply.body as { message: string }).message).to.match(message);
    }
    expect(creates()).to.equal(before);
  });

  describe('ownership', () => {
    let volumeId: string;
    let volumeName: string;

    before(async () => {
      volumeName = uniqueName('owned');
      const created = await create('team-a', volumeName);
      expect(created.status).to.equal(200);
      volumeId = created.id;
      await waitFor(async () => (await usage('team-a')).reservedKiB === 0, 'the create to be confirmed');
    });

    it("denies delete, map, unmap and snapshot of another tenant's volume with 403, before the gateway", async () => {
      const seen = gateway.requests.length;
      const other = driver('team-b');
      for (const attempt of [
        () => other.deleteVolume(volumeId),
        () => other.mapVolume(volumeId, SDC),
        () => other.unmapVolume(volumeId, SDC),
        () => other.snapshot(volumeId, uniqueName('stolen-snap')),
      ]) {
        const reply = await attempt();
        expect(reply.status).to.equal(403);
        expect(reply.body).to.have.property('httpStatusCode', 403);
      }
      // Only the enrich lookups (with the service's own token) reached the array: no mutation did.
      const reached = gateway.requests.slice(seen).filter((request) => request.method !== 'GET' && !request.path.startsWith('/api/login'));
      expect(reached).to.deep.equal([]);
    });

    it("lets the owner map, snapshot, unmap and delete, and a deleted volume's capacity returns exactly once", async () => {
      const owner = driver('team-a');
      expect((await owner.mapVolume(volumeId, SDC)).status).to.equal(200);
      const usedBeforeSnapshot = (await usage('team-a')).usedKiB;
      expect((await owner.snapshot(volumeId, uniqueName('snap'))).status).to.equal(200);
      await settled('team-a', usedBeforeSnapshot + 8 * GIB_IN_KIB);
      expect((await owner.unmapVolume(volumeId, SDC)).status).to.equal(200);

      const beforeDelete = (await usage('team-a')).usedKiB;
      expect((await owner.deleteVolume(volumeId)).status).to.equal(200);
      await settled('team-a', beforeDelete - 8 * GIB_IN_KIB);
      const repeated = await owner.deleteVolume(volumeId);
      expect(repeated.status).to.not.equal(200);
      await settled('team-a', beforeDelete - 8 * GIB_IN_KIB);
    });
  });

  it("follows the tenant's approveSdc", async () => {
    expect((await driver('team-a').approveSdc('B2C3D4E5-0000-0000-0000-00000000000a')).status).to.equal(200);
    const denied = await driver('team-b').approveSdc('B2C3D4E5-0000-0000-0000-00000000000b');
    expect(denied.status).to.equal(403);
    expect(gateway.sdcs.map((sdc) => sdc.sdcGuid)).to.include('B2C3D4E5-0000-0000-0000-00000000000a').and.not.include('B2C3D4E5-0000-0000-0000-00000000000b');
  });

  it("never forwards the tenant's Authorization: the gateway sees its own token", async () => {
    const seen = gateway.requests.length;
    const smuggled = { cookie: 'session=tenant', 'x-http-method-override': 'DELETE' };
    expect((await driver('team-a').send('GET', '/api/version', undefined, smuggled)).status).to.equal(200);
    const forwarded = gateway.requests.slice(seen).filter((request) => request.path.startsWith('/api/version'));
    expect(forwarded).to.have.length(1);
    const authorization = String(forwarded[0]!.headers.authorization);
    const token = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString('utf8');
    expect(gateway.issuedTokens.map((issued) => `:${issued}`)).to.include(token);
    expect(forwarded[0]!.headers).to.not.have.property('cookie');
    expect(forwarded[0]!.headers).to.not.have.property('x-http-method-override');
    expect(forwarded[0]!.headers).to.not.have.property('forwarded');
    expect(gateway.requests.some((request) => String(request.headers.authorization ?? '').startsWith('Bearer'))).to.equal(false);
  });

  describe('path tricks', () => {
    let victimId: string;

    before(async () => {
      const created = await create('team-a', uniqueName('victim'));
      expect(created.status).to.equal(200);
      victimId = created.id;
    });

    async function tricked(path: string): Promise<Reply> {
      return driver('team-b').send('POST', path, { removeMode: 'ONLY_ME' });
    }

    it('classifies dot segments, double slashes and case changes as the delete the array would execute', async () => {
      for (const path of [
        `/api/types/Volume/../../instances/Volume::${victimId}/action/removeVolume`,
        `//api//instances//Volume::${victimId}/action//removeVolume/`,
        `/api/instances/Volume%3A%3A${victimId}/action/%72emoveVolume`,
        `/API/instances/volume::${victimId}/action/REMOVEVOLUME`,
      ]) {
        expect((await tricked(path)).status, path).to.equal(403);
      }
      expect(gateway.volumes.map((volume) => volume.id)).to.include(victimId);
    });

    it("executes the owner's delete sent through a dot-segment path as that delete, and returns its capacity", async () => {
      const created = await create('team-a', uniqueName('dotted'));
      await waitFor(async () => (await usage('team-a')).reservedKiB === 0, 'the create to be confirmed');
      const before = (await usage('team-a')).usedKiB;
      const reply = await driver('team-a').send('POST', `/api/types/Volume/../../instances/Volume::${created.id}/action/removeVolume`, { removeMode: 'ONLY_ME' });
      expect(reply.status).to.equal(200);
      expect(gateway.volumes.map((volume) => volume.id)).to.not.include(created.id);
      await settled('team-a', before - 8 * GIB_IN_KIB);
    });

    it("denies the issue's dot-segment example and encoded slashes instead of passing them as reads", async () => {
      const example = await tricked(`/api/types/Volume/instances/../../instances/Volume::${victimId}/action/removeVolume`);
      expect(example.status).to.equal(403);
      expect((example.body as { message: string }).message).to.match(/not a recognised operation/);
      for (const path of [`/api/instances/Volume::${victimId}%2Faction%2FremoveVolume`, `/api/instances/Volume::${victimId}%2faction%2fremoveVolume`]) {
        const reply = await tricked(path);
        expect(reply.status, path).to.equal(400);
        expect((reply.body as { message: string }).message).to.match(/^encoded '\/', '\\' or NUL in path/);
      }
      expect(gateway.requests.some((request) => request.method === 'POST' && request.path.includes(`${victimId}`) && /removeVolume/i.test(request.path))).to.equal(false);
      expect(gateway.volumes.map((volume) => volume.id)).to.include(victimId);
    });
  });

  it('resolves reservations whose access-log entry never came by asking the array (queryIdByKey)', async () => {
    const scope = { systemType: 'powerflex' as const, systemID: gateway.systemId, pool: BRONZE.name, tenant: 'team-a' };
    const quota = { kind: 'limited' as const, kib: QUOTA_GIB * GIB_IN_KIB };
    await settled('team-a', (await usage('team-a')).usedKiB);
    const before = (await usage('team-a')).usedKiB;
    // The service allowed both and the edge forwarded them, but Envoy's log entries were lost:
    // the array created one volume and not the other.
    const created = uniqueName('lost-log');
    const missing = uniqueName('lost-log');
    gateway.seedVolume(created, BRONZE.id, 8 * GIB_IN_KIB);
    for (const name of [created, missing]) expect((await ledger.reserve(scope, name, 8 * GIB_IN_KIB, quota)).status).to.equal('approved');
    await waitFor(async () => (await ledger.pending(0)).length === 0, 'the resolver to settle both reservations', 20_000);
    expect((await usage('team-a')).usedKiB).to.equal(before + 8 * GIB_IN_KIB);
    expect(await ledger.owns(scope, created)).to.equal(true);
    expect(await ledger.owns(scope, missing)).to.equal(false);
  });

  it('renews the array session once the gateway refuses it (gateway restart), not when it ages out 5 minutes later', async () => {
    const tenant = driver('team-a');
    expect((await tenant.send('GET', '/api/version')).status).to.equal(200);
    const logins = gateway.requestsTo('/api/login').length;
    const seen = gateway.requests.length;
    gateway.expireTokens(); // the gateway restarted and forgot every session

    const refused = await tenant.send('GET', '/api/version');
    expect(refused.status).to.equal(401);
    const [forwarded] = gateway.requests.slice(seen);
    const deadHeader = String(forwarded!.headers.authorization);
    const deadToken = Buffer.from(deadHeader.replace(/^Basic /, ''), 'base64').toString('utf8').slice(1);
    expect(deadToken).to.not.equal('');
    // The tenant sees the array's refusal, never the credential it was refused for.
    expect(JSON.stringify(refused.body)).to.not.include(deadToken).and.not.include(deadHeader.replace(/^Basic /, ''));

    // The refusal reaches the service through the access log; the driver's next read after it succeeds.
    await waitFor(async () => (await tenant.send('GET', '/api/version')).status === 200, 'a read to succeed on a renewed array session', 15_000, 50);
    expect(gateway.requestsTo('/api/login').slice(logins)).to.have.length(1);
    expect((await tenant.send('GET', '/api/version')).status).to.equal(200);
    expect(gateway.requestsTo('/api/login').slice(logins)).to.have.length(1);
  });

  it('takes a rotated array credential from the Secret files without a restart', async () => {
    gateway.setCredentials('admin', 'Rotated-456!');
    gateway.expireTokens(); // the gateway forgot every session, as after its own restart
    await writeFile(path.join(workspace.secretsDir, 'powerflex-creds', 'password'), 'Rotated-456!');
    const logins = gateway.requestsTo('/api/login').length;
    // The service re-checks credential files at most once a second, so the first reads may still
    // try the old password (and be refused by the array: fail closed); then the new one is used.
    await waitFor(async () => (await driver('team-a').send('GET', '/api/version')).status === 200, 'a read with the rotated credential', 15_000);
    const login = gateway.requestsTo('/api/login').slice(logins);
    expect(login.length).to.be.within(1, 2);
    expect(Buffer.from(String(login.at(-1)!.headers.authorization).replace(/^Basic /, ''), 'base64').toString()).to.equal('admin:Rotated-456!');
  });
});
