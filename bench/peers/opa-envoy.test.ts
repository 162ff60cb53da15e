// The peer really makes the equivalent decision (otherwise its throughput would be the throughput
// of a refusal): real opa-envoy-plugin, real policy, the load generator's own requests.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { checkCaller, openChannels } from '../loadgen/check-client.js';
import type { Outcome } from '../loadgen/run.js';
import { benchWorld, requestSpec } from '../world.js';
import { opaEnvoyBin, startOpaEnvoy, type PeerProcess } from './opa-envoy.js';

describe('OPA-Envoy peer (real opa-envoy-plugin)', function () {
  const world = benchWorld({ endpoint: 'https://127.0.0.1:9', systemId: '542a2d5f5122210f' });
  const peers: PeerProcess[] = [];

  before(function () {
    if (!existsSync(opaEnvoyBin)) throw new Error(`${opaEnvoyBin} is missing: run 'bash bench/setup.sh'`);
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });

  async function peer(quotaKiB?: number): Promise<PeerProcess> {
    const started = await startOpaEnvoy(world, undefined, quotaKiB);
    peers.push(started);
    return started;
  }

  async function decide(target: string, kind: 'read' | 'create', token: string): Promise<Outcome> {
    const clients = openChannels(target, 1);
    try {
      return await checkCaller(clients, requestSpec(world, kind, 0, token), 5000)();
    } finally {
      for (const client of clients) client.close();
    }
  }

  it('allows a create within quota and a read, for a valid tenant token', async () => {
    const { target, token } = await peer();
    expect(await decide(target, 'create', token)).to.deep.equal({ kind: 'allow' });
    expect(await decide(target, 'read', token)).to.deep.equal({ kind: 'allow' });
  });

  it("denies a token signed with another peer's secret", async () => {
    const [one, other] = [await peer(), await peer()];
    expect((await decide(one.target, 'create', other.token)).kind).to.equal('deny');
  });

  it('denies a create larger than the quota', async () => {
    const { target, token } = await peer(1024);
    expect((await decide(target, 'create', token)).kind).to.equal('deny');
  });
});
