// `npm run demo`: a fake PowerFlex gateway, the decision service (in-memory ledger, or Redis when
// REDIS_URL is set) and a real edge Envoy; two tenants drive it like the PowerFlex CSI driver
// would, and the printout shows what reached the array, what was denied and why, and the usage
// as a storage admin reads it from the admin API (what `authzctl usage` shows).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import type { UsageReportRow } from '../admin/usage.js';
import { AdminClient } from '../cli/client.js';
import { mintTokenPair } from '../tokens/mint.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../fakes/powerflex/gateway.js';
import { waitFor } from '../harness/wait.js';
import { PowerFlexDriver } from './driver.js';
import { outcome, stepsTable, usageTable, type Step } from './report.js';
import { startStack, type Stack } from './stack.js';
import { createWorkspace, type Workspace } from './workspace.js';

const QUOTA_GIB = 32;
const VOLUME_GIB = 16;
const POOL = DEFAULT_POOLS[0]!;
const SDC_ID = '34e49c2000000004';

async function main(): Promise<void> {
  const cleanup: (() => Promise<void>)[] = [];
  try {
    const gateway = await FakePowerFlexGateway.start();
    cleanup.push(() => gateway.stop());
    const workspace: Workspace = await createWorkspace({
      array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: 'admin', password: 'Password123!' },
      pool: POOL.name,
      quotaGiB: QUOTA_GIB,
      tenants: [{ name: 'team-a', approveSdc: true }, { name: 'team-b', approveSdc: false }],
    });
    cleanup.push(() => workspace.remove());
    const redisUrl = process.env.REDIS_URL;
    const stack: Stack = await startStack({ workspace, ...(redisUrl && { redisUrl }) });
    cleanup.push(() => stack.stop());
    const admin = await adminClient(workspace, stack);
    cleanup.push(() => admin.close());
    const usage = async () => ((await admin.call('GET', '/proxy/usage/')) as { usage: UsageReportRow[] }).usage;

    console.log('storage-authz demo');
    console.log(`  array       fake PowerFlex gateway ${gateway.url} (system ${gateway.systemId}, pool "${POOL.name}")`);
    console.log(`  edge        Envoy ${stack.edgeUrl} -> decision service -> array`);
    console.log(`  ledger      ${redisUrl ? `Redis ${new URL(redisUrl).host}` : 'in memory (set REDIS_URL to use Redis)'}`);
    console.log(`  tenants     team-a and team-b, role "${workspace.roleName}": ${QUOTA_GIB} GiB each in pool "${POOL.name}"; only team-a may approve SDCs\n`);

    const drivers = new Map<string, PowerFlexDriver>();
    for (const tenant of ['team-a', 'team-b']) {
      const { access } = await mintTokenPair({
        keys: workspace.signingKeys, subject: 'csm-tenant', group: tenant, roles: [workspace.roleName], accessTtlSeconds: 600, refreshTtlSeconds: 3600,
      });
      const driver = new PowerFlexDriver({ edgeUrl: stack.edgeUrl, edgeCa: workspace.edgeCa, accessToken: access, systemId: gateway.systemId, arrayEndpoint: gateway.url });
      drivers.set(tenant, driver);
      cleanup.push(() => driver.close());
    }
    const { steps, wrong } = await driveLikeCsi(drivers.get('team-a')!, drivers.get('team-b')!, usage);

    console.log(stepsTable(steps).trimEnd());
    console.log(`\nusage per pool (the array saw ${gateway.requests.filter((request) => request.method === 'POST').length} mutating requests; none of the denied ones)\n`);
    console.log(usageTable(await usage()).trimEnd());
    if (wrong.length > 0) throw new Error(`unexpected results:\n  ${wrong.join('\n  ')}`);
  } finally {
    for (const step of cleanup.reverse()) await step();
  }
}

/**
 * A tenant provisions until its quota says no, maps, grows, snapshots, deletes; another tenant
 * oversteps. Each call has the result a storage admin expects; any other result fails the demo.
 */
async function driveLikeCsi(teamA: PowerFlexDriver, teamB: PowerFlexDriver, usage: () => Promise<UsageReportRow[]>): Promise<{ steps: Step[]; wrong: string[] }> {
  const steps: Step[] = [];
  const wrong: string[] = [];
  const rowsOf = async (tenant: string) => (await usage()).filter((row) => row.tenant === tenant);
  const usedKiB = async (tenant: string) => (await rowsOf(tenant)).reduce((sum, row) => sum + row.usedKiB, 0);
  const record = async (tenant: string, action: string, reply: Promise<Step['reply']>, expectedStatus: number, changesKiB = 0) => {
    const usedBefore = await usedKiB(tenant);
    const step = { tenant, action, reply: await reply };
    steps.push(step);
    if (step.reply.status !== expectedStatus) wrong.push(`${tenant} ${action}: expected ${expectedStatus}, got ${outcome(step.reply)}`);
    // The array's answer reaches the ledger through Envoy's access log, just after the response.
    const change = step.reply.status === 200 ? changesKiB : 0;
    await waitFor(
      async () => (await rowsOf(tenant)).every((row) => row.reservedKiB === 0) && (await usedKiB(tenant)) === usedBefore + change,
      `${tenant}'s ledger to settle`,
    );
    return step.reply;
  };
  const idOf = (body: unknown) => String((body as { id?: unknown }).id);
  const gib = (n: number) => n * GIB_IN_KIB;

  await record('team-a', 'login (answered by storage-authz)', teamA.login(), 200);
  await record('team-a', 'maximum volume size (querySystemLimits)', teamA.systemLimits(), 200);
  const first = idOf((await record('team-a', `create k8s-vol-1 (${VOLUME_GIB} GiB)`, teamA.createVolume('k8s-vol-1', POOL.id, gib(VOLUME_GIB)), 200, gib(VOLUME_GIB))).body);
  const second = idOf((await record('team-a', `create k8s-vol-2 (${VOLUME_GIB} GiB)`, teamA.createVolume('k8s-vol-2', POOL.id, gib(VOLUME_GIB)), 200, gib(VOLUME_GIB))).body);
  await record('team-a', `create k8s-vol-3 (${VOLUME_GIB} GiB)`, teamA.createVolume('k8s-vol-3', POOL.id, gib(VOLUME_GIB)), 507);
  await record('team-a', 'map k8s-vol-1 to an SDC', teamA.mapVolume(first, SDC_ID), 200);
  await record('team-a', `expand k8s-vol-1 to ${VOLUME_GIB + 8} GiB (quota is full)`, teamA.expandVolume(first, VOLUME_GIB + 8), 507);
  await record('team-a', 'snapshot k8s-vol-1 (quota is full)', teamA.snapshot(first, 'snap-vol-1'), 507);
  await record('team-a', 'delete k8s-vol-2', teamA.deleteVolume(second), 200, -gib(VOLUME_GIB));
  await record('team-a', `expand k8s-vol-1 to ${VOLUME_GIB + 8} GiB (charged 8 GiB)`, teamA.expandVolume(first, VOLUME_GIB + 8), 200, gib(8));
  await record('team-a', `shrink k8s-vol-1 to ${VOLUME_GIB} GiB`, teamA.expandVolume(first, VOLUME_GIB), 400);
  await record('team-b', "delete team-a's k8s-vol-1", teamB.deleteVolume(first), 403);
  await record('team-b', "map team-a's k8s-vol-1", teamB.mapVolume(first, SDC_ID), 403);
  await record('team-b', "expand team-a's k8s-vol-1", teamB.expandVolume(first, VOLUME_GIB + 16), 403);
  await record('team-b', 'approve a new SDC', teamB.approveSdc('C0FFEE00-0000-0000-0000-000000000001'), 403);
  await record('team-b', `create k8s-vol-b1 (${VOLUME_GIB} GiB)`, teamB.createVolume('k8s-vol-b1', POOL.id, gib(VOLUME_GIB)), 200, gib(VOLUME_GIB));
  await record('team-b', `rename team-a's k8s-vol-1 (setVolumeName)`, teamB.send('POST', `/api/instances/Volume::${first}/action/setVolumeName/`, { newName: 'mine-now' }), 403);
  return { steps, wrong };
}

/** The admin API client authzctl uses, with an admin token file as `authzctl admin token` writes it. */
async function adminClient(workspace: Workspace, stack: Stack): Promise<AdminClient> {
  const { access, refresh } = await mintTokenPair({
    keys: workspace.signingKeys, subject: 'csm-admin', group: 'demo-admin', roles: [], accessTtlSeconds: 600, refreshTtlSeconds: 3600,
  });
  const tokenFile = path.join(workspace.dir, 'admin-token.yaml');
  await writeFile(tokenFile, stringify({ access, refresh }), { mode: 0o600 });
  return AdminClient.connect({ addr: stack.edgeUrl, adminToken: tokenFile, ca: workspace.edgeCertFile });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
