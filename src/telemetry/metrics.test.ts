import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryLedger } from '../ledger/memory/memoryLedger.js';
import type { QuotaScope } from '../ledger/types.js';
import type { ResourceSnapshot, ResourceSource } from '../resources/types.js';
import { checkMetrics, sampleValue, samples, type Sample } from '../../test/support/prometheus.js';
import { silentLogger } from './log.js';
import { MetricsRegistry, ServiceMetrics, SidecarMetrics } from './metrics.js';

const SCOPE: QuotaScope = { systemType: 'powerflex', systemID: '7045c4cc20dffc0f', pool: 'bronze', tenant: 'team-a' };
const snapshot: ResourceSnapshot = { generation: 3, tenants: new Map(), roles: new Map(), storage: new Map() };
const resources: ResourceSource = { current: () => snapshot, onChange: () => () => {}, credentials: () => Promise.reject(new Error('none')) };

/** Serves the registry as the admin listener does and scrapes it once; promtool must accept the text. */
async function scrape(registry: MetricsRegistry): Promise<{ text: string; all: Sample[] }> {
  const server = http.createServer((req, res) => registry.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    expect(response.headers.get('content-type')).to.match(/^text\/plain/);
    const text = await response.text();
    await checkMetrics(text);
    return { text, all: samples(text) };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('metrics: the Prometheus exposition', function () {
  // The first run may build promtool (scripts/build-promtool.sh); npm test's set-up does it beforehand.
  this.timeout(60_000);
  let registry: MetricsRegistry;

  beforeEach(() => {
    registry = new MetricsRegistry('storage-authz');
  });
  afterEach(() => registry.close());

  it('counts decisions by outcome, reason, operation and array type, without a tenant label unless enabled', async () => {
    const metrics = new ServiceMetrics(registry);
    metrics.decision('allow', 'allowed', 'volume-create', 'powerflex', 'team-a', 0.002);
    metrics.decision('deny', 'quota-exceeded', 'volume-create', 'powerflex', 'team-a', 0.004);
    metrics.decision('deny', 'quota-exceeded', 'volume-create', 'powerflex', 'team-b', 0.003);
    metrics.phase('ledger', 0.0007);
    const { all } = await scrape(registry);
    expect(sampleValue(all, 'storage_authz_decisions_total', { outcome: 'deny', reason: 'quota-exceeded', operation: 'volume-create', array_type: 'powerflex' })).to.equal(2);
    expect(sampleValue(all, 'storage_authz_decisions_total', { outcome: 'allow', reason: 'allowed' })).to.equal(1);
    expect(all.filter((s) => s.labels.tenant !== undefined && s.name.startsWith('storage_authz_decisions'))).to.deep.equal([]);
    expect(sampleValue(all, 'storage_authz_decision_duration_seconds_count', { outcome: 'deny' })).to.equal(2);
    expect(sampleValue(all, 'storage_authz_decision_duration_seconds_bucket', { outcome: 'deny', le: '0.0025' })).to.equal(0);
    expect(sampleValue(all, 'storage_authz_decision_duration_seconds_bucket', { outcome: 'deny', le: '0.005' })).to.equal(2);
    expect(sampleValue(all, 'storage_authz_decision_phase_duration_seconds_bucket', { phase: 'ledger', le: '0.001' })).to.equal(1);
  });

  it('labels decisions by tenant when asked to', async () => {
    const metrics = new ServiceMetrics(registry, { tenantLabel: true });
    metrics.decision('deny', 'not-owner', 'volume-delete', 'powerstore', 'team-b', 0.001);
    metrics.wouldDeny('quota-exceeded', 'volume-create', 'powerstore', 'team-b');
    const { all } = await scrape(registry);
    expect(sampleValue(all, 'storage_authz_decisions_total', { tenant: 'team-b', reason: 'not-owner' })).to.equal(1);
    expect(sampleValue(all, 'storage_authz_decisions_would_deny_total', { tenant: 'team-b', reason: 'quota-exceeded' })).to.equal(1);
  });

  it('counts report-mode allows that would have been denied by reason, without a tenant label unless enabled', async () => {
    const metrics = new ServiceMetrics(registry);
    metrics.wouldDeny('quota-exceeded', 'volume-create', 'powerflex', 'team-a');
    metrics.wouldDeny('quota-exceeded', 'volume-create', 'powerflex', 'team-b');
    metrics.wouldDeny('policy-denied', 'volume-create', 'powerflex', 'team-a');
    const { all } = await scrape(registry);
    expect(sampleValue(all, 'storage_authz_decisions_would_deny_total', { reason: 'quota-exceeded', operation: 'volume-create', array_type: 'powerflex' })).to.equal(2);
    expect(sampleValue(all, 'storage_authz_decisions_would_deny_total', { reason: 'policy-denied' })).to.equal(1);
    expect(all.filter((s) => s.name.startsWith('storage_authz_decisions_would_deny') && s.labels.tenant !== undefined)).to.deep.equal([]);
  });

  it('times ledger calls, counts their errors and settlements, and shows pending holds and the resource generation', async () => {
    const metrics = new ServiceMetrics(registry);
    let now = 1_000_000;
    const raw = new MemoryLedger({ now: () => now });
    metrics.observe({ ledger: raw, resources, logger: silentLogger, now: () => now });
    const ledger = metrics.instrumentLedger(raw);
    const first = await ledger.reserve(SCOPE, 'k8s-1', 8 * 1024 * 1024, { kind: 'limited', kib: 64 * 1024 * 1024 });
    await ledger.reserve(SCOPE, 'k8s-2', 8 * 1024 * 1024, { kind: 'limited', kib: 64 * 1024 * 1024 });
    if (first.status !== 'approved') throw new Error(`reserve: ${first.status}`);
    expect(await ledger.commit(first.reservation)).to.equal(true);
    expect(await ledger.commit(first.reservation), 'a second commit changes nothing').to.equal(false);
    await ledger.reserve(SCOPE, '', 1, { kind: 'unlimited' }).catch(() => undefined);
    now += 90_000;

    const { all } = await scrape(registry);
    expect(sampleValue(all, 'storage_authz_ledger_operations_total', { operation: 'reserve', result: 'ok' })).to.equal(2);
    expect(sampleValue(all, 'storage_authz_ledger_operations_total', { operation: 'reserve', result: 'error' }), 'an empty volume name is refused').to.equal(1);
    expect(sampleValue(all, 'storage_authz_ledger_operation_duration_seconds_count', { operation: 'commit' })).to.equal(2);
    expect(sampleValue(all, 'storage_authz_settlements_total', { kind: 'reservation', outcome: 'committed', applied: 'true' })).to.equal(1);
    expect(sampleValue(all, 'storage_authz_settlements_total', { kind: 'reservation', outcome: 'committed', applied: 'false' })).to.equal(1);
    expect(sampleValue(all, 'storage_authz_holds_pending', { kind: 'reservation' })).to.equal(1);
    expect(sampleValue(all, 'storage_authz_holds_oldest_age_seconds')).to.equal(90);
    expect(sampleValue(all, 'storage_authz_resources_generation')).to.equal(3);
    expect(sampleValue(all, 'storage_authz_quota_used_bytes', { tenant: 'team-a', pool: 'bronze' })).to.equal(8 * 1024 ** 3);
    expect(sampleValue(all, 'storage_authz_quota_reserved_bytes', { tenant: 'team-a', pool: 'bronze' })).to.equal(8 * 1024 ** 3);
  });

  it("shows the sidecar's token expiry and its refreshes", async () => {
    const token: { expiresAt?: number } = {};
    const metrics = new SidecarMetrics(registry, () => 1_000_000);
    metrics.tokenExpiry(() => token.expiresAt);
    expect(sampleValue((await scrape(registry)).all, 'storage_authz_sidecar_token_expiry_seconds'), 'no token yet: no sample').to.equal(undefined);
    token.expiresAt = 1_000_000 + 240_000;
    metrics.refreshed('ok');
    metrics.refreshed('failed');
    metrics.refreshed('failed');
    const { all } = await scrape(registry);
    expect(sampleValue(all, 'storage_authz_sidecar_token_expiry_seconds')).to.equal(240);
    expect(sampleValue(all, 'storage_authz_sidecar_token_refreshes_total', { result: 'failed' })).to.equal(2);
  });
});
