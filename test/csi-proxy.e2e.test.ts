// Pod-level mount authorization (issue 17), end to end: a CSI client (as kubelet) → the CSI node
// proxy on a unix socket → the fake node plugin, with the mount decision asked of the real admin
// handler (service-account verification against the real kube-apiserver's JWKS, the real
// storage_authz.mount policy, a ledger that charges the volumes, the fake PowerFlex gateway naming
// them). Pod tokens come from the API server's TokenRequest, as kubelet gets them.
import { expect } from 'chai';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { createAdminHandler } from '../src/admin/handler.js';
import { createAdapters, type Adapters } from '../src/arrays/registry.js';
import { startCsiProxy, type RunningCsiProxy } from '../src/csi/proxy.js';
import { csiServices } from '../src/csi/spec.js';
import { FakeCsiPlugin } from '../src/fakes/csi/plugin.js';
import { FakePowerStore } from '../src/fakes/powerstore/array.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { startControlPlane, type ControlPlane } from '../src/harness/controlPlane.js';
import { waitFor } from '../src/harness/wait.js';
import { MemoryLedger } from '../src/ledger/memory/memoryLedger.js';
import { WasmPolicyEngine } from '../src/pipeline/policy/wasmEngine.js';
import { DirectoryResources } from '../src/resources/directory.js';
import { API_VERSION } from '../src/resources/types.js';
import { silentLogger } from '../src/telemetry/log.js';
import { ServiceAccountVerifier } from '../src/tokens/serviceAccount.js';
import { TokenVerifier } from '../src/tokens/verify.js';
import { clusterAs, type Cluster } from './support/kubernetes.js';

const AUDIENCE = 'storage-authz';
const SYSTEM = '542a2d5f5122210f';
const POOL = DEFAULT_POOLS[0]!;
const NODE_SA = { namespace: 'vxflexos', name: 'vxflexos-node' };

interface CsiResult {
  code: grpc.status;
  details: string;
  response?: Record<string, unknown>;
}

describe('CSI node proxy: pod-level mount authorization (real kube-apiserver, fake node plugin)', function () {
  this.timeout(300_000);

  let dir: string;
  let plane: ControlPlane;
  let cluster: Cluster;
  let gateway: FakePowerFlexGateway;
  let powerstore: FakePowerStore;
  let resources: DirectoryResources;
  let adapters: Adapters;
  let serviceAccounts: ServiceAccountVerifier;
  let admin: http.Server;
  let plugin: FakeCsiPlugin;
  let proxy: RunningCsiProxy;
  let node: grpc.Client & Record<string, (request: unknown, callback: (error: grpc.ServiceError | null, response?: unknown) => void) => void>;
  /** a, b: PowerFlex volumes of team-a and team-b; psA, psB: PowerStore ones. */
  const volumes: Record<'a' | 'b' | 'psA' | 'psB', string> = { a: '', b: '', psA: '', psB: '' };

  const tenantObject = (name: string, subject: string, mountNamespaces: string[]) => ({
    apiVersion: API_VERSION, kind: 'CSMTenant', metadata: { name },
    spec: {
      roles: 'bronze', approveSdc: false, revoke: false,
      identities: [{ issuer: plane.issuer, audiences: [AUDIENCE], jwksUri: plane.jwksUri, caBundle: plane.caPem, subjects: [subject], mountNamespaces }],
    },
  });
  const writeTenants = (teamANamespaces: string[]) =>
    writeFile(path.join(dir, 'resources', 'tenants.yaml'), [
      stringify(tenantObject('team-a', `system:serviceaccount:${NODE_SA.namespace}:${NODE_SA.name}`, teamANamespaces)),
      stringify(tenantObject('team-b', `system:serviceaccount:${NODE_SA.namespace}:team-b-node`, ['apps'])),
    ].join('---\n'));

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'csi-proxy-e2e-'));
    [plane, gateway, powerstore] = await Promise.all([startControlPlane({ apiAudiences: [AUDIENCE] }), FakePowerFlexGateway.start({ systemId: SYSTEM }), FakePowerStore.start()]);
    cluster = clusterAs(plane.adminKubeconfig);
    for (const namespace of [NODE_SA.namespace, 'apps', 'other']) await cluster.createNamespace(namespace);

    await mkdir(path.join(dir, 'resources'), { recursive: true });
    await mkdir(path.join(dir, 'secrets', 'powerflex-creds'), { recursive: true });
    await mkdir(path.join(dir, 'secrets', 'powerstore-creds'), { recursive: true });
    await writeFile(path.join(dir, 'resources', 'storage.yaml'), [
      stringify({ apiVersion: API_VERSION, kind: 'Storage', metadata: { name: 'powerflex-a' }, spec: { type: 'powerflex', endpoint: gateway.url, systemID: SYSTEM, skipCertificateValidation: false, storageSystemCredentials: { secret: 'powerflex-creds' } } }),
      stringify({ apiVersion: API_VERSION, kind: 'Storage', metadata: { name: 'powerstore-a' }, spec: { type: 'powerstore', endpoint: powerstore.url, systemID: powerstore.systemId, skipCertificateValidation: false, storageSystemCredentials: { secret: 'powerstore-creds' } } }),
      stringify({ apiVersion: API_VERSION, kind: 'CSMRole', metadata: { name: 'bronze' }, spec: { quota: '100GiB', systemType: 'powerflex', systemID: SYSTEM, pool: POOL.name } }),
    ].join('---\n'));
    await writeTenants(['apps']);
    await writeFile(path.join(dir, 'secrets', 'powerflex-creds', 'username'), 'admin');
    await writeFile(path.join(dir, 'secrets', 'powerflex-creds', 'password'), 'Password123!');
    await writeFile(path.join(dir, 'secrets', 'powerstore-creds', 'username'), 'admin');
    await writeFile(path.join(dir, 'secrets', 'powerstore-creds', 'password'), 'Password123!');
    resources = await DirectoryResources.open(path.join(dir, 'resources'), { secretsDir: path.join(dir, 'secrets'), logger: silentLogger });

    // Each tenant's volume exists on the array and is charged to it in the ledger.
    const ledger = new MemoryLedger();
    for (const [who, tenant] of [['a', 'team-a'], ['b', 'team-b']] as const) {
      const name = `${tenant}-vol`;
      volumes[who] = `${SYSTEM}-${gateway.seedVolume(name, POOL.id, 8 * GIB_IN_KIB)}`;
      const held = await ledger.reserve({ systemType: 'powerflex', systemID: SYSTEM, pool: POOL.name, tenant }, name, 8 * GIB_IN_KIB, { kind: 'unlimited' });
      if (held.status !== 'approved') throw new Error(`ledger: ${held.status}`);
      await ledger.commit(held.reservation);
    }
    // And a PowerStore volume each, with csi-powerstore's handle "<uuid>/<globalID>/scsi".
    for (const [who, tenant] of [['psA', 'team-a'], ['psB', 'team-b']] as const) {
      const name = `${tenant}-ps-vol`;
      volumes[who] = `${await createPowerStoreVolume(name)}/${powerstore.systemId}/scsi`;
      const held = await ledger.reserve({ systemType: 'powerstore', systemID: powerstore.systemId, pool: powerstore.systemId, tenant }, name, 8 * GIB_IN_KIB, { kind: 'unlimited' });
      if (held.status !== 'approved') throw new Error(`ledger: ${held.status}`);
      await ledger.commit(held.reservation);
    }

    const policy = await WasmPolicyEngine.load();
    policy.setRoles(resources.current().roles.values());
    adapters = createAdapters({ ca: `${gateway.ca}\n${powerstore.ca}` });
    serviceAccounts = new ServiceAccountVerifier();
    const verifier = new TokenVerifier({ keys: () => ({ defaultKid: 'unused', keys: new Map([['unused', new Uint8Array(randomBytes(32))]]) }) });
    const mount = { verifier, serviceAccounts, resources, adapters: adapters.registry, ledger, policy, logger: silentLogger };
    admin = http.createServer(createAdminHandler({ resources, ledger, verifier, keys: () => ({ defaultKid: 'unused', keys: new Map() }), logger: silentLogger, mount }));
    await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));

    // The node plugin pod's own projected token, as kubelet writes it.
    const tokenFile = path.join(dir, 'node-token');
    await writeFile(tokenFile, await cluster.serviceAccountToken(NODE_SA.namespace, NODE_SA.name, [AUDIENCE]));
    plugin = await FakeCsiPlugin.start(path.join(dir, 'plugin.sock'));
    for (const id of Object.values(volumes)) plugin.attach(id, 8 * GIB_IN_KIB * 1024);
    proxy = await startCsiProxy({
      listen: `unix:${path.join(dir, 'csi.sock')}`,
      plugin: plugin.address,
      decisionUrl: `http://127.0.0.1:${(admin.address() as AddressInfo).port}/proxy/mount/`,
      tokenFile,
      audience: AUDIENCE,
      logger: silentLogger,
    });
    const NodeClient = grpc.makeClientConstructor(csiServices().Node!, 'Node');
    node = new NodeClient(proxy.address, grpc.credentials.createInsecure()) as unknown as typeof node;
    // kubelet stages each volume once per node before publishing it to pods; NodeStageVolume carries no pod and passes through.
    for (const id of Object.values(volumes)) {
      await mkdir(stagingPath(id), { recursive: true });
      const staged = await call('NodeStageVolume', { volume_id: id, staging_target_path: stagingPath(id), volume_capability: { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } } });
      if (staged.code !== grpc.status.OK) throw new Error(`NodeStageVolume ${id}: ${staged.details}`);
    }
  });

  const stagingPath = (volumeId: string) => path.join(dir, 'staging', volumeId);

  after(async () => {
    node?.close();
    await proxy?.close();
    await plugin?.stop();
    await new Promise<void>((resolve) => (admin ? admin.close(() => resolve()) : resolve()));
    await serviceAccounts?.close();
    await adapters?.close();
    resources?.close();
    await gateway?.stop();
    await powerstore?.stop();
    await plane?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A volume made on the PowerStore as its admin would (REST: login_session, then POST volume with the CSRF token). */
  async function createPowerStoreVolume(name: string): Promise<string> {
    const dispatcher = new Agent({ connect: { ca: powerstore.ca } });
    try {
      const login = await request(`${powerstore.url}/api/rest/login_session`, { dispatcher, headers: { authorization: `Basic ${Buffer.from('admin:Password123!').toString('base64')}` } });
      await login.body.text();
      const cookie = String(login.headers['set-cookie']).split(';')[0]!;
      const created = await request(`${powerstore.url}/api/rest/volume`, {
        method: 'POST',
        dispatcher,
        headers: { cookie, 'dell-emc-token': String(login.headers['dell-emc-token']), 'content-type': 'application/json' },
        body: JSON.stringify({ name, size: 8 * GIB_IN_KIB * 1024 }),
      });
      const body = (await created.body.json()) as { id?: string };
      if (created.statusCode !== 201 || !body.id) throw new Error(`PowerStore volume ${name}: ${created.statusCode} ${JSON.stringify(body)}`);
      return body.id;
    } finally {
      await dispatcher.close();
    }
  }

  function call(method: string, request: unknown): Promise<CsiResult> {
    return new Promise((resolve) =>
      node[method]!(request, (error, response) =>
        resolve(error ? { code: error.code, details: error.details } : { code: grpc.status.OK, details: '', response: response as Record<string, unknown> }),
      ),
    );
  }

  /** NodePublishVolume as kubelet sends it for a pod, with the pod's token when `token` is given. */
  async function publish(volumeId: string, pod: { namespace: string; name: string; serviceAccount: string }, token?: string): Promise<CsiResult> {
    const context: Record<string, string> = {
      'csi.storage.k8s.io/pod.name': pod.name,
      'csi.storage.k8s.io/pod.namespace': pod.namespace,
      'csi.storage.k8s.io/pod.uid': `uid-${pod.name}`,
      'csi.storage.k8s.io/serviceAccount.name': pod.serviceAccount,
      'csi.storage.k8s.io/ephemeral': 'false',
    };
    if (token) context['csi.storage.k8s.io/serviceAccount.tokens'] = JSON.stringify({ [AUDIENCE]: { token, expirationTimestamp: new Date(Date.now() + 600_000).toISOString() } });
    return call('NodePublishVolume', {
      volume_id: volumeId,
      target_path: path.join(dir, 'pods', pod.name, volumeId),
      staging_target_path: stagingPath(volumeId),
      volume_capability: { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
      readonly: false,
      volume_context: context,
    });
  }

  const podToken = (namespace: string, serviceAccount: string) => cluster.serviceAccountToken(namespace, serviceAccount, [AUDIENCE]);
  const web = { namespace: 'apps', name: 'web-0', serviceAccount: 'web' };

  it("passes a pod's NodePublishVolume through to the plugin when its tenant owns the volume and its namespace is allowed", async () => {
    const before = plugin.publishes().length;
    const answer = await publish(volumes.a, web, await podToken('apps', 'web'));
    expect(answer, answer.details).to.deep.include({ code: grpc.status.OK });
    expect(plugin.publishes()).to.have.length(before + 1);
    expect(plugin.publishes().at(-1)!.request).to.include({ volume_id: volumes.a });
  });

  it("refuses a pod of another namespace and a volume of another tenant with PermissionDenied; the plugin is never called", async () => {
    const before = plugin.publishes().length;
    const otherNamespace = await publish(volumes.a, { namespace: 'other', name: 'job-0', serviceAccount: 'web' }, await podToken('other', 'web'));
    expect(otherNamespace).to.deep.equal({ code: grpc.status.PERMISSION_DENIED, details: 'storage-authz: pods of namespace "other" may not mount volumes of tenant "team-a" (allowed: apps)' });
    const otherTenant = await publish(volumes.b, web, await podToken('apps', 'web'));
    expect(otherTenant).to.deep.equal({ code: grpc.status.PERMISSION_DENIED, details: `storage-authz: volume "${volumes.b}" belongs to tenant "team-b", not to tenant "team-a"` });
    const liar = await publish(volumes.a, web, await podToken('other', 'web'));
    expect(liar).to.deep.equal({ code: grpc.status.PERMISSION_DENIED, details: 'storage-authz: pod token is for "system:serviceaccount:other:web", not for the pod\'s service account "system:serviceaccount:apps:web"' });
    expect(plugin.publishes()).to.have.length(before);
  });

  it('fails a NodePublishVolume without the pod token Unavailable (kubelet retries), a malformed one InvalidArgument, without calling the plugin', async () => {
    const before = plugin.publishes().length;
    const answer = await publish(volumes.a, web);
    expect(answer.code).to.equal(grpc.status.UNAVAILABLE);
    expect(answer.details).to.contain(`tokenRequests: [{audience: ${AUDIENCE}}]`);
    const noTarget = await call('NodePublishVolume', { volume_id: volumes.a, volume_capability: { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } });
    expect(noTarget, "the spec's own error for a malformed call").to.deep.equal({ code: grpc.status.INVALID_ARGUMENT, details: 'target_path is required' });
    expect(plugin.publishes()).to.have.length(before);
  });

  it('passes every other call through untouched, answers and errors alike', async () => {
    expect(await call('NodeGetInfo', {})).to.deep.include({ code: grpc.status.OK, response: { node_id: 'fake-node-1', max_volumes_per_node: '0', accessible_topology: null } });
    expect(await call('NodeStageVolume', { volume_id: volumes.a })).to.deep.equal({ code: grpc.status.INVALID_ARGUMENT, details: 'staging_target_path is required' });
    expect(await call('NodeGetVolumeHealth', { volume_id: volumes.a })).to.deep.equal({ code: grpc.status.UNIMPLEMENTED, details: 'GET_VOLUME_HEALTH is not a capability' });
    expect(await call('NodeUnpublishVolume', { volume_id: 'nope', target_path: '/tmp/x' })).to.deep.equal({ code: grpc.status.NOT_FOUND, details: 'volume nope does not exist' });
  });

  it('pipes a server stream through, chunk by chunk, and its error status after the chunks', async () => {
    const SnapshotMetadata = grpc.makeClientConstructor(csiServices().SnapshotMetadata!, 'SnapshotMetadata');
    type Chunk = { block_metadata: { byte_offset: string }[] };
    const client = new SnapshotMetadata(proxy.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { GetMetadataAllocated(request: unknown): grpc.ClientReadableStream<Chunk> };
    const read = (snapshotId: string) =>
      new Promise<{ offsets: string[]; code: grpc.status; details: string }>((resolve) => {
        const offsets: string[] = [];
        const stream = client.GetMetadataAllocated({ snapshot_id: snapshotId });
        stream.on('data', (chunk: Chunk) => offsets.push(...chunk.block_metadata.map((block) => block.byte_offset)));
        stream.on('error', (error: grpc.ServiceError) => resolve({ offsets, code: error.code, details: error.details }));
        stream.on('end', () => resolve({ offsets, code: grpc.status.OK, details: '' }));
      });
    try {
      expect(await read('snap-1')).to.deep.equal({ offsets: ['0', '4096'], code: grpc.status.OK, details: '' });
      expect(await read('broken')).to.deep.equal({ offsets: ['0'], code: grpc.status.ABORTED, details: 'snapshot broken while streaming' });
    } finally {
      client.close();
    }
  });

  it("locates a PowerStore volume from csi-powerstore's handle: the owner's pod mounts it, another tenant's volume and an unknown array are refused", async () => {
    const before = plugin.publishes().length;
    const token = await podToken('apps', 'web');
    const own = await publish(volumes.psA, web, token);
    expect(own, own.details).to.deep.include({ code: grpc.status.OK });
    expect(plugin.publishes()).to.have.length(before + 1);
    expect(await publish(volumes.psB, web, token)).to.deep.equal({ code: grpc.status.PERMISSION_DENIED, details: `storage-authz: volume "${volumes.psB}" belongs to tenant "team-b", not to tenant "team-a"` });
    const elsewhere = volumes.psA.replace(powerstore.systemId, 'PS000000000000');
    expect(await publish(elsewhere, web, token)).to.deep.equal({ code: grpc.status.PERMISSION_DENIED, details: `storage-authz: volume handle "${elsewhere}" names no configured storage system` });
    expect(plugin.publishes()).to.have.length(before + 1);
  });

  it('refuses a republish (requiresRepublish) once the pod\'s namespace is no longer allowed', async () => {
    const token = await podToken('apps', 'web');
    expect((await publish(volumes.a, web, token)).code).to.equal(grpc.status.OK);
    const before = plugin.publishes().length;
    await writeTenants(['db']);
    await waitFor(() => resources.current().tenants.get('team-a')?.identities?.[0]?.mountNamespaces?.[0] === 'db', 'the service to load the narrowed trust', 15_000, 50);
    expect(await publish(volumes.a, web, token)).to.deep.equal({ code: grpc.status.PERMISSION_DENIED, details: 'storage-authz: pods of namespace "apps" may not mount volumes of tenant "team-a" (allowed: db)' });
    expect(plugin.publishes()).to.have.length(before);
  });
});
