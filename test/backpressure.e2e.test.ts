// Backpressure per array through the real edge: the real `storage-authz serve`, the real Envoy that
// `render-edge-config` prints for two PowerFlex Storage objects with their own maxConcurrentRequests,
// and two fake gateways that hold a driver read until the test releases it. One array is flooded past
// its limit: the excess is answered 503 by Envoy while the admitted requests are still held (so it
// never waited for a slot), in PowerFlex's error shape with Retry-After; the array never has more than
// its limit in flight; the other array admits up to its own limit meanwhile. No timing is asserted:
// every wait is on a condition.
import { expect } from 'chai';
import { Agent, request } from 'undici';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import type { RequestHold, SeenRequest } from '../src/fakes/https.js';
import { freePort } from '../src/harness/ports.js';
import type { Started } from '../src/harness/process.js';
import { waitFor } from '../src/harness/wait.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { samples, type Sample } from './support/prometheus.js';
import { startServeAndEdge } from './support/serveEdge.js';

const POOL = DEFAULT_POOLS[0]!;
const LIMIT_A = 3;
const LIMIT_B = 2;
const EXCESS = 5;
/** A driver read the service itself never sends to the array (its lookups are other paths). */
const HELD_PATH = '/api/types/Sdc/instances/';
const isHeldRead = (seen: SeenRequest) => seen.method === 'GET' && seen.path.replace(/\?.*$/, '').replace(/\/+$/, '') === HELD_PATH.replace(/\/$/, '');

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

describe('backpressure: an array at its maxConcurrentRequests through the real edge', function () {
  this.timeout(180_000);

  let gatewayA: FakePowerFlexGateway;
  let gatewayB: FakePowerFlexGateway;
  let workspace: Workspace;
  let service: Started;
  let envoy: Started;
  let agent: Agent;
  let edgeUrl: string;
  let adminApiPort: number;
  let statsPort: number;
  let token: string;

  const forwardedTo = (gateway: FakePowerFlexGateway) => `for=csm-authorization;${gateway.url};${gateway.systemId},by=csm-authorization;csi-vxflexos`;

  async function send(gateway: FakePowerFlexGateway, method: 'GET' | 'POST', pathAndQuery: string, body?: unknown): Promise<Answer> {
    const response = await request(`${edgeUrl}${pathAndQuery}`, {
      method,
      headers: { authorization: `Bearer ${token}`, forwarded: forwardedTo(gateway), 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      dispatcher: agent,
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, json: JSON.parse(text || '{}') as Record<string, unknown> };
  }

  /** Sends `count` held reads at once; `answered` lists the answers as they arrive. */
  function flood(gateway: FakePowerFlexGateway, count: number): { answered: Answer[]; all: Promise<Answer[]> } {
    const answered: Answer[] = [];
    const all = Promise.all(Array.from({ length: count }, () => send(gateway, 'GET', HELD_PATH).then((answer) => (answered.push(answer), answer))));
    return { answered, all };
  }

  async function scrape(url: string): Promise<Sample[]> {
    const response = await request(url);
    const text = await response.body.text();
    expect(response.statusCode, text).to.equal(200);
    return samples(text);
  }
  const sum = (all: readonly Sample[], name: string, labels: Record<string, string> = {}) =>
    all.filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value)).reduce((total, s) => total + s.value, 0);
  const envoyStat = async (name: string, storage: string) => sum(await scrape(`http://127.0.0.1:${statsPort}/stats/prometheus`), name, { envoy_cluster_name: `storage-${storage}` });

  before(async () => {
    gatewayA = await FakePowerFlexGateway.start({ systemId: 'aaaa00000000000a' });
    gatewayB = await FakePowerFlexGateway.start({ systemId: 'bbbb00000000000b' });
    const credentials = { username: 'admin', password: 'Password123!' };
    workspace = await createWorkspace({
      array: { endpoint: gatewayA.url, systemId: gatewayA.systemId, ca: gatewayA.ca, ...credentials, maxConcurrentRequests: LIMIT_A },
      moreArrays: [{ endpoint: gatewayB.url, systemId: gatewayB.systemId, ca: gatewayB.ca, ...credentials, maxConcurrentRequests: LIMIT_B }],
      pool: POOL.name,
      quotaGiB: 64,
      tenants: [{ name: 'team-a', approveSdc: false }],
      pollInterval: '0',
    });
    token = (await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: 'team-a', roles: workspace.roleNames, accessTtlSeconds: 600, refreshTtlSeconds: 1200 })).access;
    agent = new Agent({ connect: { ca: workspace.edgeCa }, connections: 64 });
    statsPort = await freePort();
    let edgePort: number;
    ({ service, envoy, adminApiPort, edgePort } = await startServeAndEdge(workspace, [], ['--authz-timeout-ms', '5000', '--envoy-stats-port', String(statsPort)]));
    edgeUrl = `https://127.0.0.1:${edgePort}`;
  });

  after(async () => {
    await envoy?.stop();
    await service?.stop();
    await agent?.close();
    await gatewayA?.stop();
    await gatewayB?.stop();
    await workspace?.remove();
  });

  let holdA: RequestHold;
  let floodA: { answered: Answer[]; all: Promise<Answer[]> };

  it('floods array A past its limit: the excess is a 503 with Retry-After in PowerFlex shape while the admitted requests are still held', async () => {
    holdA = gatewayA.hold(isHeldRead);
    floodA = flood(gatewayA, LIMIT_A + EXCESS);
    await waitFor(() => holdA.inFlight === LIMIT_A && floodA.answered.length === EXCESS, `array A to hold ${LIMIT_A} reads and the other ${EXCESS} to be answered`, 60_000);
    expect(holdA.received, 'requests array A received').to.equal(LIMIT_A);
    for (const answer of floodA.answered) {
      expect(answer.status).to.equal(503);
      expect(answer.headers['retry-after']).to.equal('1');
      expect(answer.headers['content-type']).to.equal('application/json');
      expect(answer.json).to.deep.equal({ errorCode: 503, httpStatusCode: 503, message: `storage "${workspace.storageName}" is at its limit of ${LIMIT_A} concurrent requests; retry after 1 s` });
      expect(answer.headers['x-request-id']).to.be.a('string');
    }
  });

  it("array B admits up to its own limit while A is full, and refuses past it with B's own limit", async () => {
    const holdB = gatewayB.hold(isHeldRead);
    const floodB = flood(gatewayB, LIMIT_B);
    await waitFor(() => holdB.inFlight === LIMIT_B, `array B to hold ${LIMIT_B} reads`, 60_000);
    expect(floodB.answered, 'B answered nothing while it holds its reads').to.have.length(0);
    const past = await send(gatewayB, 'GET', HELD_PATH);
    expect(past.status).to.equal(503);
    expect(past.json.message).to.equal(`storage "powerflex-2" is at its limit of ${LIMIT_B} concurrent requests; retry after 1 s`);
    holdB.release();
    expect((await floodB.all).map((answer) => answer.status)).to.deep.equal(Array(LIMIT_B).fill(200));
    expect(holdB.maxInFlight).to.equal(LIMIT_B);
  });

  it("a create refused by A's circuit breaker holds no quota: its reservation is released from the access log", async () => {
    const create = await send(gatewayA, 'POST', '/api/types/Volume/instances/', { name: 'bp-vol-1', storagePoolId: POOL.id, volumeSizeInKb: String(8 * GIB_IN_KIB), volumeType: 'ThinProvisioned' });
    expect(create.status).to.equal(503);
    expect(create.headers['retry-after']).to.equal('1');
    // The resolver would only settle it after the route timeout (120 s); this is the access log's settlement.
    await waitFor(async () => sum(await scrape(`http://127.0.0.1:${adminApiPort}/metrics`), 'storage_authz_holds_pending') === 0, 'the overflowed create to be released', 20_000);
    expect(gatewayA.volumes).to.have.length(0);
  });

  it('released, the admitted requests are answered by the array, which never had more than its limit in flight', async () => {
    holdA.release();
    expect((await floodA.all).filter((answer) => answer.status === 200)).to.have.length(LIMIT_A);
    expect(holdA.maxInFlight).to.equal(LIMIT_A);
    // The breaker closes again: the next read goes through.
    expect((await send(gatewayA, 'GET', HELD_PATH)).status).to.equal(200);
  });

  it("Envoy's stats listener counts each array's overflows and shows its remaining capacity", async () => {
    // Envoy counts a request refused while waiting for a connection (pending) apart from one refused
    // with every slot busy (active); which one a request meets depends on its connection's timing.
    const overflows = async (storage: string) =>
      (await envoyStat('envoy_cluster_upstream_rq_pending_overflow', storage)) + (await envoyStat('envoy_cluster_upstream_rq_active_overflow', storage));
    expect(await overflows(workspace.storageName)).to.equal(EXCESS + 1);
    expect(await overflows('powerflex-2')).to.equal(1);
    await waitFor(async () => (await envoyStat('envoy_cluster_circuit_breakers_default_remaining_rq', workspace.storageName)) === LIMIT_A, "A's breaker to show all its capacity free");
    const other = await request(`http://127.0.0.1:${statsPort}/quitquitquit`, { method: 'POST' });
    expect(other.statusCode, 'the stats listener serves nothing else of the admin interface').to.equal(404);
    await other.body.dump();
  });
});
