// Reconciliation as a storage admin sees it: volumes deleted and created behind the service's back on
// a (fake) PowerFlex gateway, one reconciliation pass run explicitly against the service's Redis,
// then `authzctl drift` and `authzctl usage` through the edge Envoy's admin API. `report` mode
// changes nothing; `repair` mode makes the ledger match the array, each repair in the audit stream.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { createAdapters, type Adapters } from '../src/arrays/registry.js';
import { startStack, type Stack } from '../src/demo/stack.js';
import { PowerFlexDriver } from '../src/demo/driver.js';
import type { Workspace } from '../src/demo/workspace.js';
import { BRONZE, reconcileWorkspace } from './support/reconcileWorkspace.js';
import { FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { createReconciler } from '../src/reconcile/reconcile.js';
import { DirectoryResources } from '../src/resources/directory.js';
import { silentLogger } from '../src/telemetry/log.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { startRedis, type RunningRedis } from './support/redis.js';

const CLI = path.join(repoRoot, 'src/cli/authzctl.ts');

describe('reconciliation: ledger against the array, drift through authzctl', function () {
  let gateway: FakePowerFlexGateway;
  let redis: RunningRedis;
  let ledger: RedisLedger;
  let workspace: Workspace;
  let stack: Stack;
  let resources: DirectoryResources;
  let adapters: Adapters;
  let driver: PowerFlexDriver;
  let adminTokenFile: string;
  let edgeCaFile: string;

  const authzctl = (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--addr', stack.edgeUrl.replace('https://', ''), '--ca', edgeCaFile, '--admin-token', adminTokenFile, ...args]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  /** What a storage admin does on the array's own console: the gateway API with the array's credentials. */
  async function removeOnArray(volumeId: string): Promise<void> {
    const dispatcher = new Agent({ connect: { ca: gateway.ca } });
    try {
      const login = await request(`${gateway.url}/api/login`, { dispatcher, headers: { authorization: `Basic ${Buffer.from('admin:Password123!').toString('base64')}` } });
      const token = (await login.body.json()) as string;
      const removed = await request(`${gateway.url}/api/instances/Volume::${volumeId}/action/removeVolume`, {
        method: 'POST', dispatcher, body: '{"removeMode":"ONLY_ME"}',
        headers: { authorization: `Basic ${Buffer.from(`:${token}`).toString('base64')}`, 'content-type': 'application/json' },
      });
      expect(removed.statusCode).to.equal(200);
      await removed.body.dump();
    } finally {
      await dispatcher.close();
    }
  }

  const reconcileOnce = (mode: 'repair' | 'report') =>
    createReconciler({ ledger, resources, adapters: adapters.registry, mode, settleAfterMs: 60_000, tickMs: 3_600_000 }).runOnce();

  const usageOf = async () => (await ledger.usage('team-a')).find((row) => row.pool === BRONZE.name)!;

  before(async () => {
    gateway = await FakePowerFlexGateway.start();
    redis = await startRedis();
    ledger = await RedisLedger.connect({ url: redis.url });
    workspace = await reconcileWorkspace(gateway, 64);
    stack = await startStack({ workspace, redisUrl: redis.url });
    resources = await DirectoryResources.open(workspace.resourcesDir, { secretsDir: workspace.secretsDir, logger: silentLogger });
    adapters = createAdapters({ ca: gateway.ca });
    const tenant = await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: 'team-a', roles: [workspace.roleName], accessTtlSeconds: 3600, refreshTtlSeconds: 7200 });
    driver = new PowerFlexDriver({ edgeUrl: stack.edgeUrl, edgeCa: workspace.edgeCa, accessToken: tenant.access, systemId: gateway.systemId, arrayEndpoint: gateway.url });
    const admin = await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-admin', group: 'admin', roles: [], accessTtlSeconds: 3600, refreshTtlSeconds: 7200 });
    adminTokenFile = path.join(workspace.dir, 'admin-token.yaml');
    await writeFile(adminTokenFile, stringify({ access: admin.access, refresh: admin.refresh }));
    edgeCaFile = path.join(workspace.dir, 'edge-ca.pem');
    await writeFile(edgeCaFile, workspace.edgeCa);
  });

  after(async () => {
    await driver?.close();
    await adapters?.close();
    resources?.close();
    await stack?.stop();
    await ledger?.close();
    await redis?.stop();
    await gateway?.stop();
    await workspace?.remove();
  });

  it('finds a volume deleted behind the service and one created with the tenant prefix; report changes nothing, repair fixes both', async () => {
    const kept = await driver.createVolume('ta-kept', BRONZE.id, 8 * GIB_IN_KIB);
    const lost = await driver.createVolume('ta-lost', BRONZE.id, 8 * GIB_IN_KIB);
    expect([kept.status, lost.status]).to.deep.equal([200, 200]);
    await waitFor(async () => (await usageOf())?.usedKiB === 16 * GIB_IN_KIB, 'both creates to be committed');
    await removeOnArray((lost.body as { id: string }).id);
    gateway.seedVolume('ta-console', BRONZE.id, 16 * GIB_IN_KIB);
    gateway.seedVolume('someone-elses', BRONZE.id, 8 * GIB_IN_KIB);

    const [reported] = await reconcileOnce('report');
    expect(reported!.findings.map((f) => [f.kind, f.volume, f.tenant, f.repaired])).to.have.deep.members([
      ['missing-on-array', 'ta-lost', 'team-a', false],
      ['unaccounted-on-array', 'ta-console', 'team-a', false],
      ['unaccounted-on-array', 'someone-elses', undefined, false],
    ]);
    expect(await usageOf()).to.include({ usedKiB: 16 * GIB_IN_KIB, volumes: 2 });
    const reportTable = await authzctl('drift', '--tenant', 'team-a');
    expect(reportTable.code, reportTable.stderr).to.equal(0);
    expect(reportTable.stdout).to.match(/^TENANT\s+SYSTEM\s+POOL\s+VOLUME\s+DRIFT\s+LEDGER\s+ARRAY\s+REPAIRED\s+FOUND\n/);
    expect(reportTable.stdout).to.match(/team-a\s+powerflex\/\S+\s+bronze\s+ta-lost\s+missing-on-array\s+8GiB\s+-\s+no\s+\d{4}-/);
    expect(reportTable.stdout).to.match(/team-a\s+powerflex\/\S+\s+bronze\s+ta-console\s+unaccounted-on-array\s+-\s+16GiB\s+no/);
    expect(reportTable.stdout).to.not.contain('someone-elses');

    await reconcileOnce('repair');
    expect(await usageOf()).to.include({ usedKiB: 24 * GIB_IN_KIB, volumes: 2 });
    expect((await ledger.volumes('team-a')).map((v) => v.volume).sort()).to.deep.equal(['ta-console', 'ta-kept']);
    const usage = await authzctl('usage', '--tenant', 'team-a');
    expect(usage.stdout).to.match(/team-a\s.*\s1 missing on array, 1 unaccounted on array \(repaired\)\s+enforce\n/);
    const repaired = await authzctl('drift', '-o', 'json');
    const rows = (JSON.parse(repaired.stdout) as { drift: { volume: string; repaired: boolean }[] }).drift;
    expect(rows.map((r) => [r.volume, r.repaired])).to.have.deep.members([['ta-lost', true], ['ta-console', true], ['someone-elses', false]]);

    // The charged volume is the tenant's now: it can delete it through the service.
    const consoleId = gateway.volumes.find((v) => v.name === 'ta-console')!.id;
    expect((await driver.deleteVolume(consoleId)).status).to.equal(200);
    const [clean] = await reconcileOnce('repair');
    expect(clean!.findings.map((f) => f.volume)).to.deep.equal(['someone-elses']);
  });
});
