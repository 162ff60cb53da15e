// `storage-authz serve --resources kubernetes` against a real kube-apiserver + etcd (one control
// plane for this file): CRs and credential Secrets drive the decisions of the running service,
// each object gets its Ready condition, watches survive an API-server restart, and of two replicas
// only the Lease holder writes status. Decisions are real Checks over gRPC; the array is the fake
// PowerFlex gateway, which records every login.
import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoordinationV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { envoyServices } from '../src/check/protos.js';
import type { CheckResponseMessage } from '../src/check/wire.js';
import { DEFAULT_POOLS, FakePowerFlexGateway } from '../src/fakes/powerflex/gateway.js';
import { startControlPlane, type ControlPlane } from '../src/harness/controlPlane.js';
import { freePort } from '../src/harness/ports.js';
import { waitFor } from '../src/harness/wait.js';
import type { ResourceKind } from '../src/resources/objects.js';
import { KubernetesResources } from '../src/resources/kubernetes/source.js';
import { API_VERSION } from '../src/resources/types.js';
import { parseServeConfig } from '../src/serve/config.js';
import { startService, type RunningService } from '../src/serve/service.js';
import { silentLogger } from '../src/telemetry/log.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import type { SigningKeySet } from '../src/tokens/types.js';
import { unaryCall } from './support/grpc.js';
import { clusterAs, cr, credentialsSecret, waitForReady, type Cluster } from './support/kubernetes.js';

const NS = 'storage-authz';
const KID = 'k1';
const SIGNING_SECRET = 'Kubernetes-Controller-Test-Secret-4c1e9a7f';
const ROLE = 'bronze-8g';
const BRONZE_POOL_ID = DEFAULT_POOLS.find((pool) => pool.name === 'bronze')!.id;
const GIB = 1024 * 1024;

describe('serve --resources kubernetes (real kube-apiserver)', function () {
  this.timeout(240_000);
  let controlPlane: ControlPlane;
  let cluster: Cluster;
  let gateway: FakePowerFlexGateway;
  let dir: string;
  let service: RunningService;
  let address: string;
  const keys: SigningKeySet = { defaultKid: KID, keys: new Map([[KID, new TextEncoder().encode(SIGNING_SECRET)]]) };

  const tenant = (spec: Record<string, unknown>) => cr('CSMTenant', 'team-a', NS, { roles: ROLE, approveSdc: false, revoke: false, ...spec });

  /** A PowerFlex request of team-a, as the sidecar forwards it: a read unless a body is given. */
  async function check(create?: { name: string; sizeKiB: number }): Promise<CheckResponseMessage> {
    const { access } = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'team-a', roles: [ROLE], accessTtlSeconds: 300, refreshTtlSeconds: 600 });
    const headers = { authorization: `Bearer ${access}`, forwarded: `for=csm-authorization;${gateway.url};${gateway.systemId},by=csm-authorization;csi-vxflexos` };
    const http = create
      ? { id: 'r', method: 'POST', path: '/api/types/Volume/instances/', headers: { ...headers, 'content-type': 'application/json' },
          raw_body: Buffer.from(JSON.stringify({ name: create.name, storagePoolId: BRONZE_POOL_ID, volumeSizeInKb: String(create.sizeKiB), volumeType: 'ThinProvisioned' })) }
      : { id: 'r', method: 'GET', path: '/api/version/', headers };
    return unaryCall<CheckResponseMessage>(envoyServices().authorization, address, 'Check', { attributes: { request: { http } } }, 10_000);
  }
  const denial = (response: CheckResponseMessage) => (response.denied_response ? JSON.parse(response.denied_response.body) : undefined) as { message?: string } | undefined;
  const lastLogin = () => gateway.requestsTo('/api/login').at(-1)?.headers.authorization;
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  before(async () => {
    controlPlane = await startControlPlane();
    cluster = clusterAs(controlPlane.adminKubeconfig);
    await cluster.installCrds();
    await cluster.createNamespace(NS);
    gateway = await FakePowerFlexGateway.start();
    dir = await mkdtemp(path.join(tmpdir(), 'k8s-controller-'));
    await mkdir(path.join(dir, 'keys'));
    await writeFile(path.join(dir, 'keys', KID), SIGNING_SECRET);
    await writeFile(path.join(dir, 'array-ca.pem'), gateway.ca);

    await cluster.apply(credentialsSecret('powerflex-creds', NS, 'admin', 'Password123!'));
    await cluster.apply(cr('Storage', 'powerflex-1', NS, { type: 'powerflex', endpoint: gateway.url, systemID: gateway.systemId, skipCertificateValidation: false, storageSystemCredentials: { secret: 'powerflex-creds' } }));
    await cluster.apply(cr('CSMRole', ROLE, NS, { quota: '8GiB', systemType: 'powerflex', systemID: gateway.systemId, pool: 'bronze' }));

    address = `127.0.0.1:${await freePort()}`;
    service = await startService(
      parseServeConfig({
        listen: address,
        resources: 'kubernetes',
        namespace: NS,
        kubeconfig: controlPlane.adminKubeconfig,
        identity: 'service-replica',
        signingKeysDir: path.join(dir, 'keys'),
        defaultKid: KID,
        arrayCaFile: path.join(dir, 'array-ca.pem'),
        drainMs: 1000,
      }),
      silentLogger,
    );
  });
  after(async () => {
    await service?.close();
    await gateway?.stop();
    await controlPlane?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a CSMTenant applied is used by the next decision, and shows Ready=True', async () => {
    expect(denial(await check())?.message).to.equal('tenant "team-a" is not configured');

    await cluster.apply(tenant({}));
    const ready = await waitForReady(cluster, 'CSMTenant', 'team-a', NS, (r) => r.status === 'True');
    expect(ready).to.include({ reason: 'Accepted' });
    const response = await check();
    expect(response.ok_response, JSON.stringify(response.denied_response)).to.not.equal(undefined);
    expect(lastLogin()).to.equal(basic('admin', 'Password123!'));
    await waitForReady(cluster, 'Storage', 'powerflex-1', NS, (r) => r.status === 'True');
    await waitForReady(cluster, 'CSMRole', ROLE, NS, (r) => r.status === 'True');
  });

  it('an invalid CR gets Ready=False naming the field, and the last good version still decides', async () => {
    // Revoking and naming a role that cannot exist in one edit: the edit is refused whole.
    await cluster.apply(tenant({ roles: `${ROLE},Not_A_Role`, revoke: true }));
    const ready = await waitForReady(cluster, 'CSMTenant', 'team-a', NS, (r) => r.status === 'False');
    expect(ready.reason).to.equal('Invalid');
    expect(ready.message).to.equal('spec.roles: "Not_A_Role" in "bronze-8g,Not_A_Role" is not a role name (comma-separated DNS-1123 names). The last accepted version stays in force.');
    expect((await check()).ok_response, 'the tenant is still the last good, unrevoked one').to.not.equal(undefined);

    // A quota only our parser can judge (the CRD lets any string through).
    await cluster.apply(cr('CSMRole', 'silver', NS, { quota: '100GB7', systemType: 'powerflex', systemID: gateway.systemId, pool: 'silver' }));
    const role = await waitForReady(cluster, 'CSMRole', 'silver', NS, (r) => r.status === 'False');
    expect(role.message).to.equal('spec.quota: "100GB7" is not a size (e.g. 100GiB, 10TiB, 500MiB, 10GB, or 0 for unlimited).');

    // A reference the API server cannot check: a role for a system no Storage defines.
    await cluster.apply(cr('CSMRole', 'orphan', NS, { quota: '1TiB', systemType: 'powerflex', systemID: '7045c4cc20dffc0f', pool: 'gold' }));
    const orphan = await waitForReady(cluster, 'CSMRole', 'orphan', NS, (r) => r.status === 'False');
    expect(orphan).to.include({ reason: 'Unresolved', message: 'spec.systemID: no Storage of type powerflex has systemID "7045c4cc20dffc0f". Not in force until this is fixed.' });

    await cluster.apply(tenant({}));
    await waitForReady(cluster, 'CSMTenant', 'team-a', NS, (r) => r.status === 'True');
  });

  it('a rotated credential Secret is used without a restart', async () => {
    gateway.setCredentials('admin', 'Rotated-Password-2');
    gateway.expireTokens();
    await cluster.apply(credentialsSecret('powerflex-creds', NS, 'admin', 'Rotated-Password-2'));
    await waitFor(async () => (await check()).ok_response !== undefined && lastLogin() === basic('admin', 'Rotated-Password-2'), 'a login with the rotated password', 30_000, 200);

    // A Secret that lost its password key shows on the Storage that needs it.
    await cluster.apply({ ...credentialsSecret('powerflex-creds', NS, 'admin', 'x'), data: { username: Buffer.from('admin').toString('base64') } } as never);
    const storage = await waitForReady(cluster, 'Storage', 'powerflex-1', NS, (r) => r.status === 'False');
    expect(storage).to.include({ reason: 'CredentialsMissing', message: 'Secret "powerflex-creds" has no "password" key' });
    await cluster.apply(credentialsSecret('powerflex-creds', NS, 'admin', 'Rotated-Password-2'));
    await waitForReady(cluster, 'Storage', 'powerflex-1', NS, (r) => r.status === 'True');
  });

  it('changes made after the API server restarted still arrive, and the resources in force keep deciding meanwhile', async () => {
    await controlPlane.restartApiServer();
    expect((await check()).ok_response, 'still allowed across the restart').to.not.equal(undefined);
    await cluster.apply(tenant({ revoke: true }));
    await waitForReady(cluster, 'CSMTenant', 'team-a', NS, (r) => r.status === 'True', 60_000);
    expect(denial(await check())?.message).to.equal('tenant has been revoked');
    await cluster.apply(tenant({}));
    await waitForReady(cluster, 'CSMTenant', 'team-a', NS, (r) => r.status === 'True');
  });

  it("a tenant's status shows its usage per pool, and how far a report-only quota was passed", async () => {
    await cluster.apply(tenant({ enforcement: 'report' }));
    await waitForReady(cluster, 'CSMTenant', 'team-a', NS, (r) => r.status === 'True');
    const create = await check({ name: 'over-quota-1', sizeKiB: 16 * GIB });
    expect(create.ok_response, JSON.stringify(create.denied_response)).to.not.equal(undefined);
    // The admin lowers the role's quota (any change of the objects publishes usage at once).
    await cluster.apply(cr('CSMRole', ROLE, NS, { quota: '4GiB', systemType: 'powerflex', systemID: gateway.systemId, pool: 'bronze' }));
    let usage: unknown;
    await waitFor(async () => {
      const object = await cluster.read<KubernetesObject & { status?: { usage?: { quotaKiB?: number }[] } }>(API_VERSION, 'CSMTenant', 'team-a', NS);
      usage = object?.status?.usage;
      return object?.status?.usage?.[0]?.quotaKiB === 4 * GIB;
    }, 'the tenant status to show the lowered quota', 30_000, 100);
    // The create was never confirmed by an access log here: it is held (reserved), and counts.
    expect(usage).to.deep.equal([
      { systemType: 'powerflex', systemID: gateway.systemId, pool: 'bronze', quotaKiB: 4 * GIB, usedKiB: 0, reservedKiB: 16 * GIB, volumes: 0, enforcement: 'report', overQuotaKiB: 12 * GIB },
    ]);
    await cluster.apply(cr('CSMRole', ROLE, NS, { quota: '8GiB', systemType: 'powerflex', systemID: gateway.systemId, pool: 'bronze' }));
    await cluster.apply(tenant({}));
    await waitForReady(cluster, 'CSMTenant', 'team-a', NS, (r) => r.status === 'True');
  });

  it('of two replicas only the Lease holder writes status; the other takes over when it stops', async () => {
    const pairNs = 'pair';
    await cluster.createNamespace(pairNs);
    const writes: Record<string, string[]> = { first: [], second: [] };
    const replica = (identity: 'first' | 'second') =>
      KubernetesResources.open({
        kubeconfig: controlPlane.adminKubeconfig,
        namespace: pairNs,
        identity,
        leaseDurationSeconds: 4,
        logger: silentLogger,
        onStatusWritten: (kind: ResourceKind, name: string) => writes[identity]!.push(`${kind}/${name}`),
      });
    const coordination = (() => {
      const config = new KubeConfig();
      config.loadFromFile(controlPlane.adminKubeconfig);
      return config.makeApiClient(CoordinationV1Api);
    })();
    const holder = async () => (await coordination.readNamespacedLease({ name: 'storage-authz', namespace: pairNs }).catch(() => undefined))?.spec?.holderIdentity;

    const first = await replica('first');
    let second: KubernetesResources | undefined;
    try {
      await waitFor(() => first.isLeader(), 'the first replica to take the Lease', 20_000);
      second = await replica('second');
      expect(await holder()).to.equal('first');

      await cluster.apply(cr('CSMRole', 'r1', pairNs, { quota: 'lots', systemType: 'powerflex', systemID: 'x', pool: 'p' }));
      await waitForReady(cluster, 'CSMRole', 'r1', pairNs, (r) => r.status === 'False');
      await waitFor(() => second!.current().generation === first.current().generation, 'the second replica to see the same objects');
      expect(writes.first).to.deep.equal(['CSMRole/r1']);
      expect(writes.second).to.deep.equal([]);
      expect(second.isLeader()).to.equal(false);

      await first.close();
      await waitFor(() => second!.isLeader(), 'the second replica to take the released Lease', 20_000);
      expect(await holder()).to.equal('second');
      await cluster.apply(cr('CSMRole', 'r2', pairNs, { quota: 'more', systemType: 'powerflex', systemID: 'x', pool: 'p' }));
      await waitForReady(cluster, 'CSMRole', 'r2', pairNs, (r) => r.status === 'False');
      expect(writes.second).to.include('CSMRole/r2');
      expect(writes.first).to.deep.equal(['CSMRole/r1']);
    } finally {
      await first.close();
      await second?.close();
    }
  });
});
