// Report-only enforcement through the real edge: the real `storage-authz serve` (ledger in a real
// Redis), the real Envoy, the fake PowerFlex gateway. A role in `enforcement: report` lets its
// tenants past their quota (the ledger still charges every volume, so usage stays truthful), each
// such allow audited and counted as "would deny" and shown by `authzctl usage`; an ownership denial
// still refuses; switched back to `enforce` (authzctl role update, hot-reloaded), the quota refuses again.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Workspace } from '../src/demo/workspace.js';
import { GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { runAuthzctl } from './support/authzctl.js';
import { SESSION_POOL as POOL, startEdgeSession, type EdgeAnswer, type EdgeSession } from './support/edgeSession.js';
import { sampleValue, type Sample } from './support/prometheus.js';
import { loggedDecisions } from './support/serveEdge.js';

const QUOTA_GIB = 16;

describe('report-only enforcement through the real edge', function () {
  this.timeout(180_000);

  let session: EdgeSession;
  let ledger: RedisLedger;
  const tokens: Record<string, string> = {};

  const create = (tenant: string, name: string, gib: number) => session.create(tokens[tenant]!, name, gib);
  const remove = (tenant: string, volumeId: string) => session.remove(tokens[tenant]!, volumeId);
  const admin = (args: string[]) => session.admin(args);
  /** `authzctl role update --enforcement` on the resources directory the service watches. */
  const setRoleEnforcement = async (workspace: Workspace, mode: 'enforce' | 'report') => {
    const updated = await runAuthzctl(['--resources-dir', workspace.resourcesDir, 'role', 'update', '--name', workspace.roleName, '--enforcement', mode]);
    expect(updated.code, updated.stderr).to.equal(0);
  };
  const decisions = () => loggedDecisions(session.service);

  /** The array confirmed every create the tenant made (settled from the access log). */
  const committed = (tenant: string, gib: number) =>
    waitFor(async () => (await ledger.usage(tenant)).some((row) => row.usedKiB === gib * GIB_IN_KIB && row.reservedKiB === 0), `${tenant}'s ${gib} GiB to be committed`);

  before(async () => {
    session = await startEdgeSession({
      quotaGiB: QUOTA_GIB,
      tenants: ['team-a', 'team-b'],
      serveArgs: ['--metrics-tenant-label'],
      // The admin rolls the quota onto tenants that already have volumes: the role reports first.
      beforeServe: (workspace) => setRoleEnforcement(workspace, 'report'),
    });
    ledger = await RedisLedger.connect({ url: session.redis.url });
    for (const tenant of ['team-a', 'team-b']) tokens[tenant] = await session.mint(tenant);
  });

  after(async () => {
    await ledger?.close();
    await session?.stop();
  });

  let pastLedger: EdgeAnswer;
  let pastPolicy: EdgeAnswer;
  let teamBVolume: string;

  it('lets creates past the quota through (200), the array creating them and the ledger charging them', async () => {
    const within = await create('team-a', 'rep-vol-1', 8);
    expect(within.status, JSON.stringify(within.json)).to.equal(200);
    await committed('team-a', 8);
    // 8 + 16 > 16 (PowerFlex sizes are multiples of 8 GiB): what the ledger would have refused (507).
    pastLedger = await create('team-a', 'rep-vol-2', 16);
    expect(pastLedger.status, JSON.stringify(pastLedger.json)).to.equal(200);
    await committed('team-a', 24);
    // 24 > 16 on its own: what the policy would have refused (400).
    pastPolicy = await create('team-a', 'rep-vol-3', 24);
    expect(pastPolicy.status, JSON.stringify(pastPolicy.json)).to.equal(200);
    await committed('team-a', 48);
    expect(session.gateway.volumes.map((volume) => volume.name)).to.include.members(['rep-vol-1', 'rep-vol-2', 'rep-vol-3']);
  });

  it('audits each as an allow that would have been denied, with the quota figures', async () => {
    await waitFor(() => decisions().length >= 3, 'three decision lines in the service log');
    const byId = new Map(decisions().map((record) => [record.id, record]));
    expect(byId.get(pastLedger.requestId)).to.deep.include({
      outcome: 'allow', reason: 'allowed', tenant: 'team-a', volume: 'rep-vol-2',
      wouldDeny: {
        status: 507, reason: 'quota-exceeded', quotaKiB: QUOTA_GIB * GIB_IN_KIB, usedKiB: 8 * GIB_IN_KIB, requestedKiB: 16 * GIB_IN_KIB,
        message: `request denied: not enough quota: tenant "team-a" on powerflex/${session.gateway.systemId}/${POOL.name}: quota 16 GiB, used 8 GiB, requested 16 GiB`,
      },
    });
    const policy = byId.get(pastPolicy.requestId);
    expect(policy).to.include({ outcome: 'allow', volume: 'rep-vol-3' });
    expect(policy?.wouldDeny).to.include({ status: 400, reason: 'policy-denied', quotaKiB: QUOTA_GIB * GIB_IN_KIB, usedKiB: 24 * GIB_IN_KIB, requestedKiB: 24 * GIB_IN_KIB });
    expect(policy?.wouldDeny?.message).to.contain(`no roles in [${session.workspace.roleName}] allow the ${24 * GIB_IN_KIB} Kb request`);

    const why = await admin(['why-denied', pastLedger.requestId]);
    expect(why.code, why.stderr).to.equal(0);
    expect(why.stdout).to.contain('ALLOWED (allowed)').and.contain('report-only: would have been denied 507 (quota-exceeded)');
    expect(why.stdout).to.contain(`enforced, it would be denied 507 (quota-exceeded): needs 8 GiB more quota in pool ${POOL.name}`);
  });

  it('counts the would-deny decisions by reason (and tenant, labels enabled) in /metrics, as promtool parses it', async () => {
    const all = await session.scrape();
    const wouldDeny = (reason: string) => sampleValue(all, 'storage_authz_decisions_would_deny_total', { reason, operation: 'volume-create', array_type: 'powerflex', tenant: 'team-a' });
    expect(wouldDeny('quota-exceeded')).to.equal(1);
    expect(wouldDeny('policy-denied')).to.equal(1);
    expect(sampleValue(all, 'storage_authz_decisions_total', { outcome: 'allow', reason: 'allowed', operation: 'volume-create', tenant: 'team-a' })).to.equal(3);
  });

  it("the chart's Grafana dashboard shows the would-deny decisions: its panel's series has these samples", async () => {
    const dashboard = JSON.parse(await readFile(path.join(repoRoot, 'charts/storage-authz/dashboards/storage-authz.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const panel = dashboard.panels.find((candidate) => candidate.targets.some((target) => target.expr.includes('storage_authz_decisions_would_deny_total')));
    expect(panel?.title).to.match(/would have denied/);
    const grouped = /sum by \(([a-z_, ]+)\)/.exec(panel!.targets[0]!.expr)?.[1]?.split(',').map((label) => label.trim());
    const series = (await session.scrape()).filter((sample) => sample.name === 'storage_authz_decisions_would_deny_total');
    expect(series.map((sample) => sample.labels.reason).sort()).to.deep.equal(['policy-denied', 'quota-exceeded']);
    for (const sample of series) for (const label of grouped ?? []) expect(sample.labels, `label ${label} the panel groups by`).to.have.property(label);
  });

  it('authzctl usage shows the tenant over its quota in report mode', async () => {
    const table = await admin(['usage', '--tenant', 'team-a']);
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout).to.match(new RegExp(`^team-a\\s+powerflex/${session.gateway.systemId}\\s+${POOL.name}\\s+16GiB\\s+48GiB\\s.*\\sreport \\(over quota by 32GiB\\)$`, 'm'));
    const json = await admin(['-o', 'json', 'usage', '--tenant', 'team-a']);
    expect(json.code, json.stderr).to.equal(0);
    const { usage } = JSON.parse(json.stdout) as { usage: Record<string, unknown>[] };
    expect(usage.find((row) => row.pool === POOL.name)).to.include({ quotaKiB: QUOTA_GIB * GIB_IN_KIB, usedKiB: 48 * GIB_IN_KIB, freeKiB: 0, enforcement: 'report', overQuotaKiB: 32 * GIB_IN_KIB });
  });

  it("refuses the tenant's delete of another tenant's volume (403): ownership is never report-only", async () => {
    const theirs = await create('team-b', 'rep-vol-b', 8);
    expect(theirs.status, JSON.stringify(theirs.json)).to.equal(200);
    teamBVolume = String(theirs.json.id);
    await committed('team-b', 8);
    const refused = await remove('team-a', teamBVolume);
    expect(refused.status).to.equal(403);
    await waitFor(() => decisions().some((record) => record.id === refused.requestId), 'the refused delete in the audit');
    expect(decisions().find((record) => record.id === refused.requestId)).to.include({ outcome: 'deny', reason: 'not-owner' }).and.not.have.property('wouldDeny');
    expect(session.gateway.volumes.map((volume) => volume.name)).to.include('rep-vol-b');
  });

  it('switched back to enforce, the next creates past the quota are refused as before (507, 400)', async () => {
    const generation = (all: Sample[]) => sampleValue(all, 'storage_authz_resources_generation') ?? 0;
    const before = generation(await session.scrape());
    await setRoleEnforcement(session.workspace, 'enforce');
    await waitFor(async () => generation(await session.scrape()) > before, 'the role edit to be reloaded');
    const overUsed = await create('team-a', 'rep-vol-4', 8);
    expect(overUsed.status, JSON.stringify(overUsed.json)).to.equal(507);
    expect(JSON.stringify(overUsed.json)).to.contain('quota 16 GiB, used 48 GiB, requested 8 GiB');
    const tooLarge = await create('team-a', 'rep-vol-5', 24);
    expect(tooLarge.status, JSON.stringify(tooLarge.json)).to.equal(400);
    const usage = await admin(['usage', '--tenant', 'team-a']);
    expect(usage.stdout).to.match(/enforce \(over quota by 32GiB\)$/m);
  });
});
