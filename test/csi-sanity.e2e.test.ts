// csi-sanity (github.com/kubernetes-csi/csi-test v5.6.0, the Kubernetes CSI project's own test client,
// built from the Go module proxy by scripts/build-csi-sanity.sh) runs its Node Service suite twice in
// one test: straight against the fake CSI plugin, then through `storage-authz csi-proxy`; the spec
// results must be the same and free of failures, so no failure is the proxy's (issue 17).
//
// The arrangement, the production chain minus kubelet:
// - serve and the edge Envoy (src/demo/stack.ts), a fake PowerFlex gateway behind them; the real
//   kube-apiserver issues the service-account tokens the tenant trusts.
// - The fake plugin's Controller service provisions over the tenant's path (the edge, the tenant's
//   Dell-format token), so every volume csi-sanity creates is charged to the tenant in the ledger;
//   handles are csi-powerflex's "<systemID>-<volumeID>".
// - csi-sanity's NodePublishVolume carries the volume context of CreateVolume, which the fake echoes
//   from the StorageClass parameters (-csi.testvolumeparameters), as drivers echo them. With no
//   kubelet to add pod info and the pod's token at mount time, the parameters carry exactly what
//   kubelet would add: a real Pod's name, namespace, uid and service account, and a TokenRequest
//   token bound to that Pod for the proxy's audience. The proxy asks serve's /proxy/mount/ through
//   the edge, as in a cluster; it has no test mode.
// - A third run, as a pod of a namespace the tenant does not allow, shows csi-sanity's mounts are
//   decided: the proxy refuses them and the plugin never sees them.
// - Sizes are PowerFlex's 8 GiB units (-csi.testvolumesize 8 GiB, -csi.testvolumeexpandsize 16 GiB),
//   as a PowerFlex driver is run under csi-sanity: the array cannot make the 10 GiB default.
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startCsiProxy, type RunningCsiProxy } from '../src/csi/proxy.js';
import { PowerFlexDriver } from '../src/demo/driver.js';
import { startStack, type Stack } from '../src/demo/stack.js';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { FakeCsiPlugin } from '../src/fakes/csi/plugin.js';
import { DEFAULT_POOLS, FakePowerFlexGateway } from '../src/fakes/powerflex/gateway.js';
import { startControlPlane, type ControlPlane } from '../src/harness/controlPlane.js';
import { repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import { API_VERSION } from '../src/resources/types.js';
import { silentLogger } from '../src/telemetry/log.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { clusterAs, type Cluster } from './support/kubernetes.js';

const AUDIENCE = 'storage-authz';
const POOL = DEFAULT_POOLS[0]!;
/** csi-powerflex's node id: the SDC's GUID (the fake gateway's one SDC). */
const NODE_ID = 'A1B2C3D4-0000-0000-0000-000000000004';
const NODE_SA = { namespace: 'vxflexos', name: 'vxflexos-node' };
const GIB = 1024 ** 3;

interface SpecReport {
  ContainerHierarchyTexts: string[] | null;
  LeafNodeText: string;
  LeafNodeType: string;
  State: string;
  Failure?: { Message: string };
}

/** One csi-sanity run: each spec's full text → its state, and the failure messages. */
interface SanityRun {
  states: Record<string, string>;
  failures: Record<string, string>;
  exitCode: number;
  output: string;
}

describe('csi-sanity Node Service suite through the CSI node proxy (real serve, edge Envoy, kube-apiserver; fake PowerFlex plugin)', function () {
  this.timeout(900_000);

  let dir: string;
  let plane: ControlPlane;
  let cluster: Cluster;
  let gateway: FakePowerFlexGateway;
  let workspace: Workspace;
  let stack: Stack;
  let driver: PowerFlexDriver;
  let plugin: FakeCsiPlugin;
  let proxy: RunningCsiProxy;
  let csiSanity: string;

  before(async () => {
    csiSanity = execFileSync('bash', [path.join(repoRoot, 'scripts/build-csi-sanity.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    dir = await mkdtemp(path.join(os.tmpdir(), 'csi-sanity-e2e-'));
    [plane, gateway] = await Promise.all([startControlPlane({ apiAudiences: [AUDIENCE] }), FakePowerFlexGateway.start()]);
    cluster = clusterAs(plane.adminKubeconfig);
    for (const namespace of [NODE_SA.namespace, 'apps', 'other']) await cluster.createNamespace(namespace);

    workspace = await createWorkspace({
      array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: 'admin', password: 'Password123!' },
      pool: POOL.name,
      quotaGiB: 64,
      tenants: [{ name: 'team-a', approveSdc: false }],
    });
    // team-a's cluster: its node plugins' service account may ask for mount decisions; its pods may mount from "apps".
    await writeFile(path.join(workspace.resourcesDir, 'tenant-team-a.yaml'), stringify({
      apiVersion: API_VERSION, kind: 'CSMTenant', metadata: { name: 'team-a' },
      spec: {
        roles: workspace.roleName, approveSdc: false, revoke: false,
        identities: [{ issuer: plane.issuer, audiences: [AUDIENCE], jwksUri: plane.jwksUri, caBundle: plane.caPem, subjects: [`system:serviceaccount:${NODE_SA.namespace}:${NODE_SA.name}`], mountNamespaces: ['apps'] }],
      },
    }));
    stack = await startStack({ workspace });

    // The controller side talks to the array as csi-powerflex does through Dell's sidecar: the tenant's token.
    const { access } = await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: 'team-a', roles: [workspace.roleName], accessTtlSeconds: 3600, refreshTtlSeconds: 7200 });
    driver = new PowerFlexDriver({ edgeUrl: stack.edgeUrl, edgeCa: workspace.edgeCa, accessToken: access, systemId: gateway.systemId, arrayEndpoint: gateway.url });
    plugin = await FakeCsiPlugin.start(path.join(dir, 'plugin.sock'), { nodeId: NODE_ID, controller: { array: driver, systemId: gateway.systemId } });

    const tokenFile = path.join(dir, 'node-token');
    await writeFile(tokenFile, await cluster.serviceAccountToken(NODE_SA.namespace, NODE_SA.name, [AUDIENCE], 3600));
    proxy = await startCsiProxy({
      listen: `unix:${path.join(dir, 'csi.sock')}`,
      plugin: plugin.address,
      decisionUrl: `${stack.edgeUrl}/proxy/mount/`,
      decisionCa: workspace.edgeCa,
      tokenFile,
      audience: AUDIENCE,
      logger: silentLogger,
    });
  });

  after(async () => {
    await proxy?.close();
    await plugin?.stop();
    await driver?.close();
    await stack?.stop();
    await workspace?.remove();
    await gateway?.stop();
    await plane?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The StorageClass parameters csi-sanity creates its volumes with: the pool, and what kubelet adds at mount time for this pod. */
  async function volumeParameters(name: string, namespace: string): Promise<string> {
    const pod = await cluster.podToken(namespace, name, 'web', [AUDIENCE], 3600);
    const file = path.join(dir, `${namespace}-${name}-parameters.yaml`);
    await writeFile(file, stringify({
      storagepool: POOL.name,
      'csi.storage.k8s.io/pod.name': name,
      'csi.storage.k8s.io/pod.namespace': namespace,
      'csi.storage.k8s.io/pod.uid': pod.uid,
      'csi.storage.k8s.io/serviceAccount.name': 'web',
      'csi.storage.k8s.io/ephemeral': 'false',
      'csi.storage.k8s.io/serviceAccount.tokens': JSON.stringify({ [AUDIENCE]: { token: pod.token, expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() } }),
    }));
    return file;
  }

  /** csi-sanity's Node Service suite (or `focus` within it) against `endpoint` for Node and Identity; the Controller service is the plugin's own socket, as the controller Deployment reaches it. */
  async function sanity(run: string, endpoint: string, parametersFile: string, focus = 'Node Service'): Promise<SanityRun> {
    const report = path.join(dir, `${run}.json`);
    const args = [
      `-csi.endpoint=${endpoint}`,
      `-csi.controllerendpoint=${plugin.address}`,
      `-csi.mountdir=${path.join(dir, `${run}-mount`)}`,
      `-csi.stagingdir=${path.join(dir, `${run}-staging`)}`,
      `-csi.testvolumeparameters=${parametersFile}`,
      `-csi.testvolumesize=${8 * GIB}`,
      `-csi.testvolumeexpandsize=${16 * GIB}`,
      `-ginkgo.focus=${focus}`,
      `-ginkgo.json-report=${report}`,
      '-ginkgo.no-color',
    ];
    const { exitCode, output } = await new Promise<{ exitCode: number; output: string }>((resolve, reject) => {
      execFile(csiSanity, args, { maxBuffer: 64 * 1024 * 1024, timeout: 600_000 }, (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ exitCode: error ? (error.code as number) : 0, output: stdout + stderr });
      });
    });
    const suites = JSON.parse(await readFile(report, 'utf8')) as { SpecReports: SpecReport[] | null }[];
    const run_: SanityRun = { states: {}, failures: {}, exitCode, output };
    for (const spec of suites.flatMap((suite) => suite.SpecReports ?? []).filter((spec) => spec.LeafNodeType === 'It')) {
      const text = [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText].join(' ');
      if (!text.startsWith('Node Service ')) continue;
      run_.states[text] = spec.State;
      // A skipped spec carries its Skip message as a Failure too; only the failure states count.
      if (!['passed', 'skipped', 'pending'].includes(spec.State)) run_.failures[text] = spec.Failure?.Message ?? spec.State;
    }
    return run_;
  }

  async function tenantUsage(): Promise<{ volumes: number; usedKiB: number; reservedKiB: number }[]> {
    const reply = await driver.send('GET', '/proxy/usage/');
    if (reply.status !== 200) throw new Error(`GET /proxy/usage/: ${reply.status} ${JSON.stringify(reply.body)}`);
    return (reply.body as { usage: { volumes: number; usedKiB: number; reservedKiB: number }[] }).usage.map(({ volumes, usedKiB, reservedKiB }) => ({ volumes, usedKiB, reservedKiB }));
  }

  const named = (run: SanityRun, state: string) => Object.keys(run.states).filter((text) => run.states[text] === state).sort();

  it('passes the same Node Service specs straight against the plugin and through the proxy, none failing', async () => {
    const parameters = await volumeParameters('web-0', 'apps');
    const direct = await sanity('direct', plugin.address, parameters);
    expect(direct.failures, direct.output).to.deep.equal({});
    expect(direct.exitCode, direct.output).to.equal(0);
    // What the fake offers, exercised: staging, stats, expansion, single-node-single-writer, idempotency, the full flow.
    expect(named(direct, 'passed')).to.include.members([
      'Node Service NodeUnpublishVolume should remove target path',
      'Node Service NodeGetVolumeStats should fail when volume does not exist on the specified path',
      'Node Service NodeExpandVolume should work if node-expand is called after node-publish',
      'Node Service NodePublishVolume with single node multi writer capability should fail when volume with single node single writer access mode is already mounted at a different target path',
      'Node Service should work',
      'Node Service should be idempotent',
    ]);
    // Alpha RPCs the fake does not offer (csi-powerflex does not either).
    expect(named(direct, 'skipped')).to.have.members([
      'Node Service NodeGetVolumeHealth should fail when no volume id is provided',
      'Node Service NodeGetVolumeHealth should return health for a valid volume',
      'Node Service NodeGetStorageHealth should return appropriate response',
    ]);

    const publishedBefore = plugin.publishes().length;
    const proxied = await sanity('proxied', `unix:${path.join(dir, 'csi.sock')}`, parameters);
    expect(proxied.failures, proxied.output).to.deep.equal({});
    expect(proxied.states).to.deep.equal(direct.states);
    expect(proxied.exitCode, proxied.output).to.equal(0);
    // Every publish that reached the plugin through the proxy was the pod's, decided allowed by serve.
    const proxiedPublishes = plugin.publishes().slice(publishedBefore).filter((call) => call.request.volume_id);
    expect(proxiedPublishes.length).to.be.greaterThan(10);
    for (const call of proxiedPublishes) expect((call.request.volume_context as Record<string, string>)['csi.storage.k8s.io/pod.namespace']).to.equal('apps');

    // csi-sanity cleaned up through the same path: the array holds none of its volumes, the ledger charges the tenant nothing.
    expect(gateway.volumes.filter((volume) => volume.name.startsWith('sanity-'))).to.deep.equal([]);
    // The last delete's answer reaches the ledger through Envoy's access log, just after csi-sanity has it.
    await waitFor(async () => JSON.stringify(await tenantUsage()) === JSON.stringify([{ volumes: 0, usedKiB: 0, reservedKiB: 0 }]), "team-a's ledger to settle to no volumes", 15_000, 50);
  });

  it("refuses csi-sanity's mounts for a pod of a namespace the tenant does not allow: PermissionDenied from the proxy, nothing reaches the plugin", async () => {
    const parameters = await volumeParameters('job-0', 'other');
    const publishedBefore = plugin.publishes().length;
    const refused = await sanity('refused', `unix:${path.join(dir, 'csi.sock')}`, parameters, 'Node Service should work');
    expect(named(refused, 'passed')).to.deep.equal([]);
    expect(Object.keys(refused.failures)).to.deep.equal(['Node Service should work']);
    expect(refused.failures['Node Service should work']).to.contain('PermissionDenied').and.contain('storage-authz: pods of namespace "other" may not mount volumes of tenant "team-a" (allowed: apps)');
    expect(plugin.publishes().slice(publishedBefore).filter((call) => call.request.volume_id)).to.deep.equal([]);
    expect(gateway.volumes.filter((volume) => volume.name.startsWith('sanity-'))).to.deep.equal([]);
  });
});
