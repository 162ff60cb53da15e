// PowerScale end to end (issue 15): the CSI PowerScale driver's requests, as gopowerscale v1.21.0
// sends them (recorded request by request in /work/shared/reference/array-clients/powerscale.md,
// "ps#<n>" = its sequence row: same methods, paths, headers and bodies) → the real tenant sidecar
// and its Envoy → the real edge Envoy → the decision service (Redis ledger) → the fake OneFS.
// The requests are replayed by hand here (paths and bodies the Go client cannot be made to send
// wrong); test/powerscale.gopowerscale.e2e.test.ts drives the same chain with gopowerscale itself.
import { expect } from 'chai';
import { Agent, request } from 'undici';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { FakeOneFs, GIB } from '../src/fakes/powerscale/onefs.js';
import { waitFor } from '../src/harness/wait.js';
import { startPowerScaleChain, type PowerScaleChain } from './support/powerscaleChain.js';

const QUOTA_GIB = 10;
const GIB_KIB = 1024 * 1024;
/** What a directory itself is charged: the ledger's least (its quota is charged apart). */
const DIRECTORY_KIB = 1;
const ISI_PATH = '/ifs/data/csi';
const ZONE = 'System';
const TENANTS = ['team-a', 'team-b'] as const;
type TenantName = (typeof TENANTS)[number];

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

describe('PowerScale: the CSI PowerScale sequence through sidecar → edge → service (real Envoy, Redis, fake OneFS)', function () {
  this.timeout(240_000);

  let chain: PowerScaleChain<TenantName>;
  let array: FakeOneFs;
  let ledger: RedisLedger;
  let tls: Agent;

  before(async () => {
    chain = await startPowerScaleChain({ isiPath: ISI_PATH, quotaGiB: QUOTA_GIB, tenants: TENANTS });
    ({ array, ledger } = chain);
    tls = new Agent({ connect: { rejectUnauthorized: false } });
  });

  after(async () => {
    await tls?.close();
    await chain?.stop();
  });

  const endpoint = (tenant: TenantName) => chain.endpoint(tenant);

  /** A request through a tenant's sidecar with the headers gopowerscale sends (the spoofed session's cookie and CSRF token, its Referer). */
  async function send(tenant: TenantName, method: string, target: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const response = await request(`${endpoint(tenant)}${target}`, {
      method: method as 'POST',
      headers: {
        cookie: 'isisessid=hellofromkaravi',
        'x-csrf-token': 'hellofromkaravi',
        referer: endpoint(tenant),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: tls,
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
  }

  async function used(tenant: TenantName): Promise<{ usedKiB: number; reservedKiB: number }> {
    const row = (await ledger.usage(tenant)).find((candidate) => candidate.pool === ISI_PATH);
    return { usedKiB: row?.usedKiB ?? 0, reservedKiB: row?.reservedKiB ?? 0 };
  }

  async function settled(tenant: TenantName, usedKiB: number): Promise<void> {
    await waitFor(async () => {
      const now = await used(tenant);
      return now.reservedKiB === 0 && now.usedKiB === usedKiB;
    }, `usage of ${tenant} to settle at ${usedKiB} KiB`, 15_000);
  }

  /** ps#6: the directory, with the driver's type, mode and CSI metadata headers. */
  const createDirectory = (tenant: TenantName, volume: string) =>
    send(tenant, 'PUT', `/namespace${ISI_PATH}/${volume}`, undefined, {
      'x-isi-ifs-target-type': 'container', 'x-isi-ifs-access-control': '0777', 'x-csi-pv-name': volume, 'x-csi-pv-claimname': `pvc-${volume}`, 'x-csi-pv-namespace': 'default',
    });

  /** ps#8: the driver's quota body. */
  const createQuota = (tenant: TenantName, volume: string, hardBytes: number) =>
    send(tenant, 'POST', '/platform/1/quota/quotas/', {
      path: `${ISI_PATH}/${volume}`, type: 'directory', container: true, enforced: true, include_snapshots: false, thresholds_include_overhead: false, thresholds: { hard: hardBytes },
    });

  /** ps#12: the driver's expansion body. */
  const updateQuota = (tenant: TenantName, quotaId: string, hardBytes: number) =>
    send(tenant, 'PUT', `/platform/1/quota/quotas/${quotaId}`, { enforced: true, thresholds_include_overhead: false, thresholds: { hard: hardBytes } });

  /** ps#9: the export, the quota id in its description. */
  const createExport = (tenant: TenantName, volume: string, quotaId: string) =>
    send(tenant, 'POST', `/platform/2/protocols/nfs/exports/?zone=${ZONE}`, { paths: [`${ISI_PATH}/${volume}`], description: `CSI_QUOTA_ID:${quotaId}` });

  const seenSince = (from: number) => array.requests.slice(from);
  const errorCode = (reply: Reply): string => (reply.body as { errors: { code: string; message: string }[] }).errors[0]!.code;
  const errorMessage = (reply: Reply): string => (reply.body as { errors: { code: string; message: string }[] }).errors[0]!.message;

  /** The whole provisioning half of the sequence (ps#4–ps#10) for one volume; returns the quota and export ids. */
  async function provision(tenant: TenantName, volume: string, hardBytes: number): Promise<{ quotaId: string; exportId: number }> {
    expect((await send(tenant, 'GET', `/namespace${ISI_PATH}/${volume}?metadata`)).status).to.equal(404); // ps#4
    expect((await send(tenant, 'GET', `/platform/2/protocols/nfs/exports/?path=${encodeURIComponent(`${ISI_PATH}/${volume}`)}&zone=${ZONE}`)).body).to.deep.include({ exports: [] }); // ps#5
    expect((await createDirectory(tenant, volume)).status).to.equal(200);
    expect((await send(tenant, 'GET', '/platform/5/quota/license/')).body).to.deep.equal({ status: 'Licensed' }); // ps#7
    const quota = await createQuota(tenant, volume, hardBytes);
    expect(quota.status, JSON.stringify(quota.body)).to.equal(201);
    const quotaId = (quota.body as { id: string }).id;
    const created = await createExport(tenant, volume, quotaId);
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const exportId = (created.body as { id: number }).id;
    const read = await send(tenant, 'GET', `/platform/2/protocols/nfs/exports/${exportId}?zone=${ZONE}`); // ps#10
    expect((read.body as { exports: { paths: string[] }[] }).exports[0]!.paths).to.deep.equal([`${ISI_PATH}/${volume}`]);
    return { quotaId, exportId };
  }

  it('answers the driver\'s session calls locally: 201 with both cookies; the array sees only the service\'s own session', async () => {
    const from = array.requests.length;
    const login = await send('team-a', 'POST', '/session/1/session/', { username: 'placeholder', password: 'placeholder', services: ['platform', 'namespace'] });
    expect(login.status).to.equal(201);
    const cookies = ([] as string[]).concat(login.headers['set-cookie'] ?? []);
    expect(cookies.some((line) => line.startsWith('isisessid=hellofromkaravi;'))).to.equal(true);
    expect(cookies.some((line) => line.startsWith('isicsrf=hellofromkaravi;'))).to.equal(true);
    expect((await send('team-a', 'GET', '/platform/latest/')).body).to.deep.equal({ latest: '16' }); // ps#2
    expect((await send('team-a', 'GET', '/platform/3/cluster/config/')).body).to.include({ name: array.clusterName }); // ps#3
    const seen = seenSince(from);
    expect(seen.filter((s) => s.body.includes('placeholder')), 'the driver\'s placeholder login never reaches the array').to.deep.equal([]);
    // The forwarded reads carry the service's session, not the spoofed one.
    for (const forwarded of seen.filter((s) => s.path.startsWith('/platform/'))) {
      expect(String(forwarded.headers.cookie)).to.match(/^isisessid=[0-9a-f]{32}$/);
    }
    expect(array.logins).to.equal(1);
  });

  it('runs the sequence: directory, quota (charged its hard threshold), export, expand via the quota, snapshot, delete of all three (freed)', async () => {
    const volume = 'k8s-a1';
    const { quotaId, exportId } = await provision('team-a', volume, 2 * GIB);
    await settled('team-a', 2 * GIB_KIB + DIRECTORY_KIB);
    const forwardedCreate = array.requests.find((s) => s.method === 'PUT' && s.path === `/namespace${ISI_PATH}/${volume}`)!;
    expect(forwardedCreate.headers).to.include({ 'x-isi-ifs-target-type': 'container', 'x-csi-pv-name': volume });
    expect(forwardedCreate.headers['x-csrf-token']).to.not.equal('hellofromkaravi');

    // Expansion: ps#11, ps#12.
    expect(((await send('team-a', 'GET', `/platform/1/quota/quotas/${quotaId}`)).body as { quotas: { thresholds: { hard: number } }[] }).quotas[0]!.thresholds.hard).to.equal(2 * GIB);
    expect((await updateQuota('team-a', quotaId, 3 * GIB)).status).to.equal(204);
    await settled('team-a', 3 * GIB_KIB + DIRECTORY_KIB);
    expect(array.allQuotas.find((quota) => quota.id === quotaId)!.thresholds.hard).to.equal(3 * GIB);

    // Snapshot: ps#13, ps#14 (charged nothing: the quota excludes snapshots).
    const snapshot = await send('team-a', 'POST', '/platform/1/snapshot/snapshots/', { name: 'snap-a1', path: `${ISI_PATH}/${volume}` });
    expect(snapshot.status, JSON.stringify(snapshot.body)).to.equal(201);
    const snapshotId = (snapshot.body as { id: number }).id;
    expect((await send('team-a', 'GET', `/platform/1/snapshot/snapshots/${snapshotId}/`)).status).to.equal(200);
    expect((await send('team-a', 'DELETE', `/platform/1/snapshot/snapshots/${snapshotId}/`)).status).to.equal(204);
    await settled('team-a', 3 * GIB_KIB + DIRECTORY_KIB);

    // Delete in the driver's order: ps#15 (export read), ps#16 quota, ps#17 export, ps#18 directory.
    expect((await send('team-a', 'GET', `/platform/2/protocols/nfs/exports/${exportId}?zone=${ZONE}`)).status).to.equal(200);
    expect((await send('team-a', 'DELETE', `/platform/1/quota/quotas/${quotaId}`)).status).to.equal(204);
    await settled('team-a', DIRECTORY_KIB);
    expect((await send('team-a', 'DELETE', `/platform/2/protocols/nfs/exports/${exportId}?zone=${ZONE}`)).status).to.equal(204);
    expect((await send('team-a', 'GET', `/namespace${ISI_PATH}/${volume}?metadata`)).status).to.equal(200);
    expect((await send('team-a', 'DELETE', `/namespace${ISI_PATH}/${volume}?recursive=true`)).status).to.equal(204);
    await settled('team-a', 0);
    expect(array.hasDirectory(`${ISI_PATH}/${volume}`)).to.equal(false);
    expect(array.allExports).to.deep.equal([]);
  });

  it('refuses a quota or an expansion beyond the tenant\'s quota with 507 in OneFS\'s error shape; the array is not asked', async () => {
    const { quotaId } = await provision('team-a', 'k8s-a2', 4 * GIB);
    const second = await provision('team-a', 'k8s-a3', 5 * GIB);
    await settled('team-a', 9 * GIB_KIB + 2 * DIRECTORY_KIB);
    const from = array.requests.length;
    const expand = await updateQuota('team-a', quotaId, 6 * GIB);
    expect(expand.status, JSON.stringify(expand.body)).to.equal(507);
    expect(errorMessage(expand)).to.match(/not enough quota/);
    expect(errorCode(expand)).to.equal('AEC_AUTHZ_507');
    expect(seenSince(from).filter((s) => s.method !== 'GET')).to.deep.equal([]);
    expect(array.allQuotas.find((quota) => quota.id === quotaId)!.thresholds.hard).to.equal(4 * GIB);

    expect((await createDirectory('team-a', 'k8s-a5')).status).to.equal(200);
    const quota = await createQuota('team-a', 'k8s-a5', 2 * GIB);
    expect(quota.status, JSON.stringify(quota.body)).to.equal(507);
    expect(array.allQuotas.filter((q) => q.path === `${ISI_PATH}/k8s-a5`)).to.deep.equal([]);

    // Removing a quota frees its charge once the array confirms it.
    expect((await send('team-a', 'DELETE', `/platform/1/quota/quotas/${second.quotaId}`)).status).to.equal(204);
    await settled('team-a', 4 * GIB_KIB + 3 * DIRECTORY_KIB);
  });

  it('refuses another tenant\'s directory, quota, export and snapshot with 403; the array is not asked', async () => {
    const volume = 'k8s-a4';
    const { quotaId, exportId } = await provision('team-a', volume, GIB);
    await settled('team-a', 5 * GIB_KIB + 4 * DIRECTORY_KIB);
    const before = await used('team-a');
    const from = array.requests.length;
    const attempts: [string, Reply][] = [
      ['delete directory', await send('team-b', 'DELETE', `/namespace${ISI_PATH}/${volume}?recursive=true`)],
      ['delete quota', await send('team-b', 'DELETE', `/platform/1/quota/quotas/${quotaId}`)],
      ['expand quota', await updateQuota('team-b', quotaId, 2 * GIB)],
      ['quota on the directory', await createQuota('team-b', volume, GIB)],
      ['delete export', await send('team-b', 'DELETE', `/platform/2/protocols/nfs/exports/${exportId}?zone=${ZONE}`)],
      ['change export clients', await send('team-b', 'PUT', `/platform/2/protocols/nfs/exports/${exportId}?zone=${ZONE}`, { clients: ['10.0.0.66'] })],
      ['export the directory', await createExport('team-b', volume, quotaId)],
      ['snapshot the directory', await send('team-b', 'POST', '/platform/1/snapshot/snapshots/', { name: 'stolen', path: `${ISI_PATH}/${volume}` })],
    ];
    for (const [what, reply] of attempts) {
      expect(reply.status, `${what}: ${JSON.stringify(reply.body)}`).to.equal(403);
      expect(errorMessage(reply), what).to.match(/not owned by tenant "team-b"/);
    }
    expect(seenSince(from).filter((s) => s.method !== 'GET')).to.deep.equal([]);
    expect(await used('team-a')).to.deep.equal(before);
    expect(array.hasDirectory(`${ISI_PATH}/${volume}`)).to.equal(true);
  });

  it('lowers a quota down to what the directory holds, freed once the array confirms; below its usage 400, the array not asked', async () => {
    const volume = 'k8s-a6';
    const { quotaId } = await provision('team-a', volume, 3 * GIB);
    await waitFor(async () => (await used('team-a')).reservedKiB === 0, 'the quota\'s charge to be confirmed', 15_000);
    const before = (await used('team-a')).usedKiB;
    array.setUsage(`${ISI_PATH}/${volume}`, GIB + 1);
    expect((await updateQuota('team-a', quotaId, 2 * GIB)).status).to.equal(204);
    await settled('team-a', before - GIB_KIB);
    expect(array.allQuotas.find((quota) => quota.id === quotaId)!.thresholds.hard).to.equal(2 * GIB);
    const from = array.requests.length;
    const below = await updateQuota('team-a', quotaId, GIB);
    expect(below.status, JSON.stringify(below.body)).to.equal(400);
    expect(errorMessage(below)).to.match(/holds 1 GiB; its size cannot go below that/);
    expect(seenSince(from).filter((s) => s.method !== 'GET')).to.deep.equal([]);
    expect(array.allQuotas.find((quota) => quota.id === quotaId)!.thresholds.hard).to.equal(2 * GIB);
    // Another tenant cannot lower it either.
    expect((await updateQuota('team-b', quotaId, 2 * GIB - 1024)).status).to.equal(403);
    expect((await send('team-a', 'DELETE', `/platform/1/quota/quotas/${quotaId}`)).status).to.equal(204);
    await settled('team-a', before - 3 * GIB_KIB);
  });

  it('requireHardQuota (the default): a directory without a hard quota is owned, but neither exported, snapshotted nor given a soft-only quota', async () => {
    const path = `${ISI_PATH}/k8s-a9`;
    expect((await createDirectory('team-a', 'k8s-a9')).status).to.equal(200);
    const from = array.requests.length;
    const refused: [string, Reply][] = [
      ['quota without hard', await send('team-a', 'POST', '/platform/1/quota/quotas/', { path, type: 'directory', thresholds: { advisory: GIB } })],
      ['export', await createExport('team-a', 'k8s-a9', 'none')],
      ['snapshot', await send('team-a', 'POST', '/platform/1/snapshot/snapshots/', { name: 'snap-a9', path })],
    ];
    for (const [what, reply] of refused) {
      expect(reply.status, `${what}: ${JSON.stringify(reply.body)}`).to.equal(400);
      expect(errorMessage(reply), what).to.match(/has no hard quota, so its use is unbounded; create its quota with thresholds.hard first/);
    }
    expect(seenSince(from).filter((s) => s.method !== 'GET')).to.deep.equal([]);
    // Its owner may still delete it (another tenant may not).
    expect((await send('team-b', 'DELETE', `/namespace${path}?recursive=true`)).status).to.equal(403);
    expect((await send('team-a', 'DELETE', `/namespace${path}?recursive=true`)).status).to.equal(204);
    expect(array.hasDirectory(path)).to.equal(false);
  });

  it('denies what the driver never does (cluster config, other protocols, file writes, malformed hard thresholds) in OneFS\'s shape', async () => {
    const from = array.requests.length;
    const denied: [string, Reply, number][] = [
      ['cluster config', await send('team-a', 'PUT', '/platform/3/cluster/config/', { name: 'mine' }), 403],
      ['SMB share', await send('team-a', 'POST', '/platform/1/protocols/smb/shares/', { name: 'all', path: '/ifs' }), 403],
      ['file write', await send('team-a', 'PUT', `/namespace${ISI_PATH}/k8s-a9`, undefined, { 'x-isi-ifs-target-type': 'object' }), 403],
      ['hard threshold 0', await send('team-a', 'POST', '/platform/1/quota/quotas/', { path: `${ISI_PATH}/k8s-a9`, type: 'directory', thresholds: { hard: 0 } }), 400],
    ];
    for (const [what, reply, status] of denied) {
      expect(reply.status, what).to.equal(status);
      expect(errorCode(reply), what).to.equal(`AEC_AUTHZ_${status}`);
    }
    expect(errorMessage(denied[3]![1])).to.match(/thresholds.hard must be whole bytes/);
    expect(seenSince(from).filter((s) => s.method !== 'GET')).to.deep.equal([]);
  });
});
