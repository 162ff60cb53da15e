// Operations through the real edge: the real `storage-authz serve` (ledger in a real Redis), the real
// Envoy `render-edge-config` prints, the fake PowerFlex gateway. Decisions made by tenants are then
// seen as a storage admin sees them: /metrics parsed by promtool, the audit records (the log line
// and the Redis stream), and `authzctl why-denied` on the request id Envoy returned and logged.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { freePort } from '../src/harness/ports.js';
import { repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import { DECISIONS_KEY } from '../src/ledger/redis/recentDecisions.js';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import type { DecisionRecord } from '../src/telemetry/audit.js';
import { SESSION_POOL as POOL, startEdgeSession, type EdgeAnswer as Answer, type EdgeSession } from './support/edgeSession.js';
import { checkMetrics, sampleValue, samples } from './support/prometheus.js';
import { loggedDecisions } from './support/serveEdge.js';

describe('operations: metrics, audit trail and why-denied through the real edge', function () {
  this.timeout(180_000);

  let session: EdgeSession;
  let metricsPort: number;
  const tokens: Record<string, string> = {};
  let expiredToken: string;

  const whyDenied = (args: string[]) => session.admin(['why-denied', ...args]);
  const decisionsLogged = (): DecisionRecord[] => loggedDecisions(session.service);

  before(async () => {
    metricsPort = await freePort();
    session = await startEdgeSession({
      quotaGiB: 32,
      tenants: ['team-a', 'team-b'],
      serveArgs: ['--metrics-tenant-label', '--metrics-listen', `127.0.0.1:${metricsPort}`],
    });
    tokens['team-a'] = await session.mint('team-a');
    tokens['team-b'] = await session.mint('team-b');
    expiredToken = await session.mint('team-a', Math.floor(Date.now() / 1000) - 7200);
  });

  after(() => session?.stop());

  let allowed: Answer;
  let quotaDenied: Answer;
  let ownershipDenied: Answer;
  let tokenDenied: Answer;

  it('makes allowed and denied decisions through the edge, each answer naming its request id', async () => {
    allowed = await session.create(tokens['team-a']!, 'ops-vol-1', 16);
    expect(allowed.status, JSON.stringify(allowed.json)).to.equal(200);
    const volumeId = String(allowed.json.id);
    const ledger = await RedisLedger.connect({ url: session.redis.url });
    try {
      await waitFor(async () => (await ledger.usage('team-a')).some((row) => row.usedKiB === 16 * GIB_IN_KIB), 'the create to be committed from the access log');
    } finally {
      await ledger.close();
    }
    quotaDenied = await session.create(tokens['team-a']!, 'ops-vol-2', 32);
    expect(quotaDenied.status).to.equal(507);
    ownershipDenied = await session.remove(tokens['team-b']!, volumeId);
    expect(ownershipDenied.status).to.equal(403);
    tokenDenied = await session.send(expiredToken, 'GET', '/api/version/');
    expect(tokenDenied.status).to.equal(401);
    expect(new Set([allowed, quotaDenied, ownershipDenied, tokenDenied].map((a) => a.requestId)).size).to.equal(4);
  });

  it('keeps one audit record per decision, allow and deny, in the log and in the Redis stream, without a token', async () => {
    await waitFor(() => decisionsLogged().length >= 4, 'four decision lines in the service log');
    const byId = new Map(decisionsLogged().map((record) => [record.id, record]));
    expect(byId.get(allowed.requestId)).to.include({ outcome: 'allow', reason: 'allowed', tenant: 'team-a', pool: POOL.name, operation: 'volume-create', volume: 'ops-vol-1', sizeKiB: 16 * GIB_IN_KIB, systemID: session.gateway.systemId, arrayType: 'powerflex' });
    expect(byId.get(quotaDenied.requestId)).to.include({
      outcome: 'deny', status: 507, reason: 'quota-exceeded', phase: 'ledger', tenant: 'team-a', volume: 'ops-vol-2',
      quotaKiB: 32 * GIB_IN_KIB, usedKiB: 16 * GIB_IN_KIB, requestedKiB: 32 * GIB_IN_KIB,
    });
    expect(byId.get(ownershipDenied.requestId)).to.include({ outcome: 'deny', status: 403, reason: 'not-owner', phase: 'ledger', tenant: 'team-b', volume: 'ops-vol-1', operation: 'volume-delete' });
    expect(byId.get(tokenDenied.requestId)).to.include({ outcome: 'deny', status: 401, reason: 'token-expired', phase: 'identity' });
    for (const token of [...Object.values(tokens), expiredToken]) expect(session.service.output(), 'the service log').to.not.contain(token);

    // The stream is written in batches of up to 20 ms after the answers.
    const client = new Redis(session.redis.url);
    const ids = [allowed.requestId, quotaDenied.requestId, ownershipDenied.requestId, tokenDenied.requestId];
    const streamed = async () => (await client.xrange(DECISIONS_KEY, '-', '+')).map(([, fields]) => (JSON.parse(fields[1]!) as DecisionRecord).id);
    try {
      await waitFor(async () => {
        const all = await streamed();
        return ids.every((id) => all.includes(id));
      }, 'the four decisions in the Redis stream');
    } finally {
      client.disconnect();
    }
  });

  it('authzctl why-denied explains a quota, an ownership and a token denial from the request id', async () => {
    const quota = await whyDenied([quotaDenied.requestId]);
    expect(quota.code, quota.stderr).to.equal(0);
    expect(quota.stdout).to.contain('DENIED 507 (quota-exceeded) in phase ledger');
    expect(quota.stdout).to.contain(`needs 16 GiB more quota in pool ${POOL.name} on powerflex system "${session.gateway.systemId}"`);
    expect(quota.stdout).to.contain('quota 32GiB  used 16GiB  requested 32GiB');

    const ownership = await whyDenied([ownershipDenied.requestId]);
    expect(ownership.code, ownership.stderr).to.equal(0);
    expect(ownership.stdout).to.contain('volume "ops-vol-1" is owned by tenant "team-a"');

    const token = await whyDenied([tokenDenied.requestId]);
    expect(token.code, token.stderr).to.equal(0);
    expect(token.stdout).to.contain('DENIED 401 (token-expired) in phase identity');
    expect(token.stdout).to.contain('authzctl generate token');

    const recent = await whyDenied(['--tenant', 'team-a', '--since', '1h']);
    expect(recent.stdout).to.contain(quotaDenied.requestId).and.not.contain(allowed.requestId);
    const unknown = await whyDenied(['no-such-request']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.contain('no decision with request id "no-such-request"');
  });

  it('authzctl status shows the replica reached: version, resources, keys, ledger', async () => {
    const result = await session.admin(['status']);
    expect(result.code, result.stderr).to.equal(0);
    const version = (JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    expect(result.stdout).to.match(new RegExp(`^replica \\S+  version ${version.replace(/\./g, '\\.')}  started `));
    expect(result.stdout).to.match(/resources generation \d+: 2 tenant\(s\), 1 role\(s\), 1 storage system\(s\)/);
    expect(result.stdout).to.contain(`signing keys ${session.workspace.signingKeys.defaultKid} (default ${session.workspace.signingKeys.defaultKid})`);
    expect(result.stdout).to.contain('ledger redis, reachable, 0 unsettled hold(s)');
    for (const secret of [new TextDecoder().decode(session.workspace.signingKeys.keys.get(session.workspace.signingKeys.defaultKid)!)]) expect(result.stdout).to.not.contain(secret);
  });

  it('/metrics on the admin listener shows the decisions, their latency, the ledger and the quota, as promtool parses it', async () => {
    const all = await session.scrape();
    const decisions = (labels: Record<string, string>) => sampleValue(all, 'storage_authz_decisions_total', { array_type: 'powerflex', ...labels });
    expect(decisions({ outcome: 'allow', reason: 'allowed', operation: 'volume-create', tenant: 'team-a' })).to.equal(1);
    expect(decisions({ outcome: 'deny', reason: 'quota-exceeded', operation: 'volume-create', tenant: 'team-a' })).to.equal(1);
    expect(decisions({ outcome: 'deny', reason: 'not-owner', operation: 'volume-delete', tenant: 'team-b' })).to.equal(1);
    expect(decisions({ outcome: 'deny', reason: 'token-expired', operation: 'none' })).to.equal(1);
    expect(sampleValue(all, 'storage_authz_decision_duration_seconds_count', { outcome: 'deny' })).to.equal(3);
    expect(sampleValue(all, 'storage_authz_decision_duration_seconds_bucket', { outcome: 'allow', le: '+Inf' })).to.equal(1);
    expect(sampleValue(all, 'storage_authz_decision_phase_duration_seconds_count', { phase: 'identity' })).to.equal(4);
    expect(sampleValue(all, 'storage_authz_decision_phase_duration_seconds_count', { phase: 'ledger' })).to.equal(3);
    expect(sampleValue(all, 'storage_authz_ledger_operations_total', { operation: 'reserve', result: 'ok' })).to.equal(2);
    expect(sampleValue(all, 'storage_authz_settlements_total', { kind: 'reservation', outcome: 'committed', applied: 'true' })).to.equal(1);
    const scope = { tenant: 'team-a', pool: POOL.name, system: session.gateway.systemId };
    expect(sampleValue(all, 'storage_authz_quota_limit_bytes', scope)).to.equal(32 * 1024 ** 3);
    expect(sampleValue(all, 'storage_authz_quota_used_bytes', scope)).to.equal(16 * 1024 ** 3);
    expect(sampleValue(all, 'storage_authz_quota_reserved_bytes', scope)).to.equal(0);
    expect(sampleValue(all, 'storage_authz_holds_pending', { kind: 'reservation' })).to.equal(0);
  });

  it('--metrics-listen serves the same /metrics for a scraper outside the pod, and nothing of the admin API', async () => {
    const response = await request(`http://127.0.0.1:${metricsPort}/metrics`);
    const text = await response.body.text();
    expect(response.statusCode, text).to.equal(200);
    await checkMetrics(text);
    expect(sampleValue(samples(text), 'storage_authz_decisions_total', { array_type: 'powerflex', outcome: 'allow', reason: 'allowed', operation: 'volume-create', tenant: 'team-a' })).to.equal(1);
    for (const target of ['/proxy/usage/', '/proxy/decisions/', '/metrics/../proxy/usage/']) {
      const other = await request(`http://127.0.0.1:${metricsPort}${target}`);
      await other.body.text();
      expect(other.statusCode, target).to.equal(404);
    }
  });

  it("the chart's Grafana dashboard queries only series this /metrics exposes", async () => {
    const dashboard = JSON.parse(await readFile(path.join(repoRoot, 'charts/storage-authz/dashboards/storage-authz.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const exposed = new Set((await session.scrape()).map((sample) => sample.name));
    // Drift is exposed once a reconciliation has run (none does in this suite): a gauge of metrics.ts.
    const source = await readFile(path.join(repoRoot, 'src/telemetry/metrics.ts'), 'utf8');
    const gauges = new Set([...source.matchAll(/createObservableGauge\('(storage_authz\.[a-z_.]+)'/g)].map(([, name]) => name!.replaceAll('.', '_')));
    const queried = dashboard.panels.flatMap((panel) => panel.targets.flatMap((target) => target.expr.match(/storage_authz_[a-z_]+/g) ?? []));
    expect(queried.length).to.be.greaterThan(8);
    // Would-deny counts report-mode allows (none here): test/report-only.e2e.test.ts checks its panel.
    const reportOnly = new Set(['storage_authz_decisions_would_deny_total']);
    expect([...new Set(queried)].filter((name) => !exposed.has(name) && !gauges.has(name) && !reportOnly.has(name)), 'queried but neither exposed nor a declared gauge').to.deep.equal([]);
    expect(gauges.has('storage_authz_reconcile_drift')).to.equal(true);
  });
});
