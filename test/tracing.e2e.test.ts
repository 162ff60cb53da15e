// Traces of decisions through the real edge: the real `storage-authz serve --otlp-endpoint`, the real
// Envoy `render-edge-config` prints, the fake PowerFlex gateway, and an OTLP/HTTP receiver that
// decodes what arrives as the official ExportTraceServiceRequest (test/otlp-receiver: Go, with the
// opentelemetry-proto bindings of go.opentelemetry.io/proto/otlp). Each request carries a W3C
// traceparent, as a traced driver or mesh would send it through Envoy: the decision's span continues it.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { start, type Started } from '../src/harness/process.js';
import { waitFor } from '../src/harness/wait.js';
import type { DecisionRecord } from '../src/telemetry/audit.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { goDriverBin } from './support/goDriver.js';
import { sampleValue, samples } from './support/prometheus.js';
import { loggedDecisions, startServeAndEdge } from './support/serveEdge.js';

const POOL = DEFAULT_POOLS[0]!;
const AUTHZ_TIMEOUT_MS = 3000;

/** A span as the receiver decoded it. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  startUnixNano: number;
  endUnixNano: number;
  attributes: Record<string, string>;
  statusCode: string;
  statusMessage: string;
  service: string;
}

interface Sent {
  status: number;
  traceId: string;
  parentId: string;
  requestId: string;
}

describe('traces: a span per decision, a child per phase, continuing the traceparent, over OTLP', function () {
  this.timeout(180_000);

  let gateway: FakePowerFlexGateway;
  let workspace: Workspace;
  let receiver: Started;
  const spans: ReceivedSpan[] = [];
  let service: Started;
  let envoy: Started;
  let agent: Agent;
  let edgeUrl: string;
  let adminApiPort: number;
  let token: string;
  let expiredToken: string;

  const mint = async (now?: number) =>
    (await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: 'team-a', roles: [workspace.roleName], accessTtlSeconds: 600, refreshTtlSeconds: 1200, ...(now && { now }) })).access;

  async function send(bearer: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Sent> {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const response = await request(`${edgeUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        forwarded: `for=csm-authorization;${gateway.url};${gateway.systemId},by=csm-authorization;csi-vxflexos`,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${parentId}-01`,
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      dispatcher: agent,
    });
    await response.body.dump();
    return { status: response.statusCode, traceId, parentId, requestId: String(response.headers['x-request-id']) };
  }

  /** The decision span of a request and its children, once the receiver has them all. */
  async function traceOf(sent: Sent): Promise<{ root: ReceivedSpan; children: ReceivedSpan[] }> {
    let root: ReceivedSpan | undefined;
    await waitFor(() => (root = spans.find((s) => s.traceId === sent.traceId && s.name === 'storage-authz decision')) !== undefined, `the decision span of trace ${sent.traceId}`, 30_000);
    const children = () => spans.filter((s) => s.parentSpanId === root!.spanId);
    // Children end before their parent, so they are in the same batch or an earlier one.
    return { root: root!, children: children() };
  }

  /** The audit line serve logged for a request id. */
  const auditRecord = (id: string): DecisionRecord | undefined => loggedDecisions(service).find((d) => d.id === id);

  before(async () => {
    receiver = start(goDriverBin('otlp-receiver'), []);
    const port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: receiver.child.stdout! });
      lines.on('line', (line) => {
        const listening = /^listening (\d+)$/.exec(line);
        if (listening) resolve(Number(listening[1]));
        else spans.push(JSON.parse(line) as ReceivedSpan);
      });
      receiver.child.once('exit', () => reject(new Error(`OTLP receiver exited: ${receiver.output()}`)));
    });

    gateway = await FakePowerFlexGateway.start();
    workspace = await createWorkspace({
      array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: 'admin', password: 'Password123!' },
      pool: POOL.name,
      quotaGiB: 16,
      tenants: [{ name: 'team-a', approveSdc: false }],
      pollInterval: '0',
    });
    token = await mint();
    expiredToken = await mint(Math.floor(Date.now() / 1000) - 7200);
    agent = new Agent({ connect: { ca: workspace.edgeCa } });
    let edgePort: number;
    ({ service, envoy, adminApiPort, edgePort } = await startServeAndEdge(workspace, ['--otlp-endpoint', `http://127.0.0.1:${port}`], ['--authz-timeout-ms', String(AUTHZ_TIMEOUT_MS)]));
    edgeUrl = `https://127.0.0.1:${edgePort}`;
  });

  after(async () => {
    await envoy?.stop();
    await service?.stop();
    await receiver?.stop();
    await agent?.close();
    await gateway?.stop();
    await workspace?.remove();
  });

  it("an allowed read: a SERVER span whose parent is the traceparent's, with one child per phase it ran", async () => {
    const sent = await send(token, 'GET', '/api/types/System/instances/');
    expect(sent.status).to.equal(200);
    const { root, children } = await traceOf(sent);
    expect(root).to.deep.include({ traceId: sent.traceId, parentSpanId: sent.parentId, kind: 'SPAN_KIND_SERVER', service: 'storage-authz', statusCode: 'STATUS_CODE_UNSET' });
    expect(root.attributes).to.deep.include({ 'storage_authz.outcome': 'allow', 'storage_authz.reason': 'allowed', 'storage_authz.request_id': sent.requestId, 'storage_authz.tenant': 'team-a', 'storage_authz.operation': 'read' });
    expect(children.map((child) => child.name)).to.include.members(['target', 'identity', 'operation', 'enrich', 'authorize', 'credentials', 'ledger', 'response']);
    for (const child of children) {
      expect(child.traceId).to.equal(sent.traceId);
      expect(child.startUnixNano).to.be.at.least(root.startUnixNano);
      expect(child.endUnixNano).to.be.at.most(root.endUnixNano);
    }
  });

  it("a quota denial (a create past the role's quota): the span is an error naming the reason and the refusing phase, as the audit does", async () => {
    const sent = await send(token, 'POST', '/api/types/Volume/instances/', { name: 'tr-vol-1', storagePoolId: POOL.id, volumeSizeInKb: String(32 * GIB_IN_KIB), volumeType: 'ThinProvisioned' });
    expect(sent.status).to.equal(400);
    const { root, children } = await traceOf(sent);
    const audited = auditRecord(sent.requestId)!;
    expect(audited).to.deep.include({ outcome: 'deny', phase: 'authorize' });
    expect(root).to.deep.include({ parentSpanId: sent.parentId, statusCode: 'STATUS_CODE_ERROR', statusMessage: `${audited.reason} in phase authorize` });
    expect(root.attributes).to.deep.include({ 'storage_authz.outcome': 'deny', 'storage_authz.reason': audited.reason, 'storage_authz.phase': 'authorize', 'http.response.status_code': '400', 'storage_authz.volume': 'tr-vol-1' });
    expect(children.map((child) => child.name)).to.include('authorize').and.not.include('ledger');
  });

  it('a token denial: refused in phase identity, no later phase run', async () => {
    const sent = await send(expiredToken, 'GET', '/api/types/System/instances/');
    expect(sent.status).to.equal(401);
    const { root, children } = await traceOf(sent);
    expect(root).to.deep.include({ parentSpanId: sent.parentId, statusCode: 'STATUS_CODE_ERROR' });
    expect(root.attributes).to.deep.include({ 'storage_authz.reason': 'token-expired', 'storage_authz.phase': 'identity' });
    expect(children.map((child) => child.name)).to.deep.equal(['target', 'identity']);
  });

  it('a decision Envoy gave up on is counted, audited and traced as the 503 Envoy answered, in the phase it was stuck in', async () => {
    // The service's own lookup of the volume a delete names is held at the array: the Check outlives Envoy's deadline.
    const hold = gateway.hold((seen) => seen.method === 'GET' && seen.path.startsWith('/api/instances/Volume::ab00000000000001'));
    const sent = await send(token, 'POST', '/api/instances/Volume::ab00000000000001/action/removeVolume/', { removeMode: 'ONLY_ME' });
    expect(sent.status).to.equal(503);
    expect(hold.received).to.equal(1);
    await waitFor(() => auditRecord(sent.requestId) !== undefined, 'the audit record of the timed-out decision');
    expect(auditRecord(sent.requestId)).to.deep.include({ outcome: 'deny', status: 503, reason: 'decision-timeout', phase: 'enrich', tenant: 'team-a', operation: 'volume-delete' });
    const { root } = await traceOf(sent);
    expect(root.attributes).to.deep.include({ 'storage_authz.reason': 'decision-timeout', 'storage_authz.phase': 'enrich', 'storage_authz.timed_out': 'true' });
    const metrics = samples(await (await request(`http://127.0.0.1:${adminApiPort}/metrics`)).body.text());
    expect(sampleValue(metrics, 'storage_authz_decisions_total', { reason: 'decision-timeout' })).to.equal(1);
    hold.release();
  });
});
