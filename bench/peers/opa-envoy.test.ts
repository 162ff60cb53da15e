// The peer really makes the equivalent decision (otherwise its throughput would be the throughput
// of a refusal): real opa-envoy-plugin, real policy, the load generator's own requests.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { checkCaller, openChannels } from '../loadgen/check-client.js';
import { benchWorld, requestSpec, type BenchWorld } from '../world.js';
import { opaEnvoyBin, startOpaEnvoy, type PeerProcess } from './opa-envoy.js';

describe('OPA-Envoy peer (real opa-envoy-plugin)', function () {
  let world: BenchWorld;
  const peers: PeerProcess[] = [];

  before(function () {
    if (!existsSync(opaEnvoyBin)) throw new Error(`${opaEnvoyBin} is missing: run 'bash bench/setup.sh'`);
  });
  beforeEach(async () => {
    world = await benchWorld();
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });

  async function decide(peerWorld: BenchWorld, callWorld: BenchWorld, kind: 'read' | 'create') {
    const peer = await startOpaEnvoy(peerWorld, undefined);
    peers.push(peer);
    const clients = openChannels(peer.target, 1);
    try {
      return await checkCaller(clients, requestSpec(callWorld, kind, 0), 5000)();
    } finally {
      for (const client of clients) client.close();
    }
  }

  it('allows a create within quota and a read, for a valid tenant token', async () => {
    expect(await decide(world, world, 'create')).to.deep.equal({ kind: 'allow' });
    expect(await decide(world, world, 'read')).to.deep.equal({ kind: 'allow' });
  });

  it('denies a token signed with another secret', async () => {
    const forged = await benchWorld();
    expect((await decide(world, { ...world, token: forged.token }, 'create')).kind).to.equal('deny');
  });

  it('denies a create larger than a limited quota', async () => {
    const limited = { ...world, quotaKiB: 1024 };
    expect((await decide(limited, world, 'create')).kind).to.equal('deny');
  });
});
