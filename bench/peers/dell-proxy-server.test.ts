// The Dell peer really serves the requests it is measured on (otherwise its throughput would be
// that of an error page): Dell's real proxy-server, OPA with Dell's Rego, Redis and the fake
// PowerFlex gateway, through its TLS ingress, with the headers the dell section sends.
import { expect } from 'chai';
import { Agent, request, type Dispatcher } from 'undici';
import { numberedBody } from '../loadgen/http-client.js';
import { createBody, CREATE_PATH, READ_PATH } from '../sections/envoy.js';
import { startArraySide, type ArraySide } from '../servers/our-service.js';
import { startRedis, type RunningRedis } from '../../test/support/redis.js';
import { dellNotBuilt, startDellProxyServer, type DellPeer } from './dell-proxy-server.js';

describe("Dell's v1 proxy-server peer (real proxy-server, OPA, Redis)", function () {
  this.timeout(120_000);
  let array: ArraySide;
  let redis: RunningRedis;
  let agent: Dispatcher;
  const peers: DellPeer[] = [];

  before(async function () {
    const why = dellNotBuilt();
    if (why) throw new Error(why);
    array = await startArraySide();
    redis = await startRedis();
    agent = new Agent({ connect: { ca: array.workspace.edgeCa } });
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });
  after(async () => {
    await agent?.close();
    await redis?.stop();
    await array?.stop();
  });

  async function peer(quotaKiB?: number): Promise<DellPeer> {
    const started = await startDellProxyServer(array, redis.url, undefined, quotaKiB);
    peers.push(started);
    return started;
  }

  const headers = (token: string) => ({
    authorization: `Bearer ${token}`,
    forwarded: [`for=csm-authorization;${array.world.endpoint};${array.world.systemId}`, 'by=csm-authorization;csi-vxflexos'],
  });
  const create = (dell: DellPeer, name: string) =>
    request(`${dell.origin}${CREATE_PATH}`, { method: 'POST', dispatcher: agent, headers: { ...headers(dell.token), 'content-type': 'application/json', 'x-csi-pv-name': name }, body: numberedBody(createBody(array.world, name), 0) });

  it('passes the pool read to the array and creates the volume on it', async () => {
    const dell = await peer();
    const read = await request(`${dell.origin}${READ_PATH}`, { dispatcher: agent, headers: headers(dell.token) });
    const pools = (await read.body.json()) as Array<{ name: string }>;
    expect(read.statusCode).to.equal(200);
    expect(pools.map((p) => p.name)).to.include(array.world.poolName);

    const created = await create(dell, 'dellpeer-a');
    expect(created.statusCode, await created.body.text()).to.equal(200);
    expect(array.gateway.volumes.map((v) => v.name)).to.include('dellpeer-a0000000');
  });

  it("refuses a create over the role's quota (Dell's quota check runs) and a token it did not sign", async () => {
    const dell = await peer(4 * 1024 * 1024);
    const over = await create(dell, 'dellpeer-b');
    expect(over.statusCode).to.be.oneOf([400, 507]);
    expect(await over.body.text()).to.contain('request denied');
    const forged = await request(`${dell.origin}${READ_PATH}`, { dispatcher: agent, headers: headers(`${dell.token.slice(0, -4)}AAAA`) });
    expect(forged.statusCode).to.equal(401);
    await forged.body.dump();
    expect(array.gateway.volumes.map((v) => v.name)).not.to.include('dellpeer-b0000000');
  });
});
