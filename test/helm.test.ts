// The chart against a real API server: lint, server-side strict validation of every rendering, and a
// real `helm install` whose objects exist afterwards, CRDs established and the controller's RBAC
// bound with least privilege.
import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { envoyDrainArgs } from '../src/envoy/drain.js';
import { startControlPlane, type ControlPlane } from '../src/harness/controlPlane.js';
import { repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import { clusterAs, cr } from './support/kubernetes.js';
import { crdManifests, runTool, type ToolResult } from './support/tools.js';

const CHART = path.join(repoRoot, 'charts/storage-authz');
const NAMESPACE = 'authz';

/** The value sets the README documents, as `--set` lists. */
const RENDERINGS: Record<string, string[]> = {
  'default (bundled Sentinel on PVCs, generated TLS and signing key)': [],
  'external Redis URL, own TLS Secret': ['redis.mode=external', 'redis.url=redis://redis.storage.svc:6379', 'tls.secretName=edge-tls'],
  'external Sentinel with a password Secret': ['redis.mode=external', 'redis.sentinels={s1.redis:26379,s2.redis:26379,s3.redis:26379}', 'redis.passwordSecret.name=ledger-redis'],
  'cert-manager Certificate': ['tls.certManager.enabled=true', 'tls.certManager.issuerRef.name=corp-ca'],
  'prometheus-operator ServiceMonitor and Grafana dashboard': ['metrics.serviceMonitor.enabled=true', 'metrics.serviceMonitor.labels.release=prometheus', 'metrics.grafanaDashboard.enabled=true'],
  'OTLP decision traces': ['tracing.otlpEndpoint=http://otel-collector.observability:4318'],
  'gRPC Check transport': ['edge.authzTransport=grpc'],
  'Istio CUSTOM provider': ['edge.mode=istio', 'istio.arrays[0].name=powerflex-a', 'istio.arrays[0].storage=powerflex-a', 'istio.arrays[0].host=pflex-a.storage.example', 'istio.arrays[0].caSecretName=pflex-a-ca'],
};

const setArgs = (values: string[]) => values.flatMap((value) => ['--set', value]);

function expectOk(result: ToolResult, what: string): void {
  expect(result.code, `${what}\n${result.stdout}\n${result.stderr}`).to.equal(0);
}

describe('helm chart charts/storage-authz against a real API server', function () {
  this.timeout(300_000);
  let plane: ControlPlane;
  let kubeconfig: string[];

  before(async () => {
    plane = await startControlPlane();
    kubeconfig = ['--kubeconfig', plane.adminKubeconfig];
    const cluster = clusterAs(plane.adminKubeconfig);
    await cluster.createNamespace(NAMESPACE);
    // The optional objects' kinds (cert-manager Certificate, Istio's, ServiceMonitor), so strict validation knows them.
    for (const file of [...(await crdManifests('certManager')), ...(await crdManifests('istio')), ...(await crdManifests('prometheusOperator'))]) {
      expectOk(await runTool('kubectl', [...kubeconfig, 'apply', '--server-side', '-f', file]), `installing CRDs from ${file}`);
    }
    expectOk(await runTool('kubectl', [...kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', 'crd/certificates.cert-manager.io', 'crd/authorizationpolicies.security.istio.io', 'crd/serviceentries.networking.istio.io', 'crd/destinationrules.networking.istio.io', 'crd/virtualservices.networking.istio.io', 'crd/servicemonitors.monitoring.coreos.com']), 'CRDs established');
  });

  after(async () => {
    await plane?.stop();
  });

  it('passes helm lint for every documented value set', async () => {
    for (const [name, values] of Object.entries(RENDERINGS)) {
      const lint = await runTool('helm', ['lint', '--strict', CHART, ...setArgs(values)]);
      expectOk(lint, `helm lint (${name})`);
      expect(lint.stdout).to.contain('0 chart(s) failed');
    }
  });

  for (const [name, values] of Object.entries(RENDERINGS)) {
    it(`renders ${name}: accepted by kubectl apply --dry-run=server --validate=strict`, async () => {
      const rendered = await runTool('helm', ['template', 'authz', CHART, '--namespace', NAMESPACE, ...setArgs(values)]);
      expectOk(rendered, 'helm template');
      const kinds = parseAllDocuments(rendered.stdout).map((doc) => (doc.toJS() as { kind?: string } | null)?.kind).filter(Boolean);
      expect(kinds).to.include.members(['Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'ServiceAccount', 'Service', 'NetworkPolicy']);
      if (name.startsWith('default')) expect(kinds).to.include.members(['StatefulSet', 'Secret']);
      if (name.startsWith('cert-manager')) expect(kinds).to.include('Certificate');
      if (name.startsWith('prometheus-operator')) {
        expect(kinds).to.include.members(['ServiceMonitor', 'ConfigMap']);
        const dashboard = parseAllDocuments(rendered.stdout).map((doc) => doc.toJS() as { kind?: string; data?: Record<string, string> } | null).find((doc) => doc?.kind === 'ConfigMap' && doc.data?.['storage-authz.json']);
        expect(JSON.parse(dashboard!.data!['storage-authz.json']!)).to.include({ uid: 'storage-authz' });
        // The edge Envoy's circuit-breaker counters: rendered on their own port, exposed and scraped.
        const docs = parseAllDocuments(rendered.stdout).map((doc) => doc.toJS() as Record<string, unknown> | null);
        const find = (kind: string, suffix = '') => docs.find((doc) => doc?.kind === kind && String((doc.metadata as { name: string }).name).endsWith(suffix));
        expect(JSON.stringify(find('Deployment'))).to.include('"--envoy-stats-port=9465"').and.include('"name":"envoy-metrics","containerPort":9465');
        expect((find('Service', '-metrics')!.spec as { ports: { name: string; port: number }[] }).ports.map((p) => [p.name, p.port])).to.deep.equal([['metrics', 9464], ['envoy-metrics', 9465]]);
        expect((find('ServiceMonitor')!.spec as { endpoints: { port: string; path: string }[] }).endpoints.map((e) => [e.port, e.path])).to.deep.equal([['metrics', '/metrics'], ['envoy-metrics', '/stats/prometheus']]);
      }
      if (name.startsWith('OTLP')) {
        const docs = parseAllDocuments(rendered.stdout).map((doc) => doc.toJS() as Record<string, unknown> | null);
        expect(JSON.stringify(docs.find((doc) => doc?.kind === 'Deployment'))).to.include('"--otlp-endpoint=http://otel-collector.observability:4318"');
        const egress = (docs.find((doc) => doc?.kind === 'NetworkPolicy')!.spec as { egress: { ports: { port: number }[] }[] }).egress;
        expect(egress.some((rule) => rule.ports.some((p) => p.port === 4318)), 'egress to the collector').to.equal(true);
      }
      // The edge asks over http_service by default: both sides of the pod's socket are rendered, or neither.
      const deployment = JSON.stringify(parseAllDocuments(rendered.stdout).map((doc) => doc.toJS() as { kind?: string } | null).find((doc) => doc?.kind === 'Deployment'));
      const httpTransport = ['"--http-check-listen=unix:/run/storage-authz/check-http.sock"', '"--authz-http=unix:/run/storage-authz/check-http.sock"'];
      if (name.startsWith('default')) for (const arg of httpTransport) expect(deployment).to.include(arg);
      if (name.startsWith('gRPC') || name.startsWith('Istio')) for (const arg of httpTransport) expect(deployment).not.to.include(arg);
      if (name.startsWith('Istio')) expect(kinds).to.include.members(['AuthorizationPolicy', 'VirtualService', 'ServiceEntry', 'DestinationRule']);
      const applied = await runTool('kubectl', [...kubeconfig, 'apply', '--dry-run=server', '--validate=strict', '-n', NAMESPACE, '-f', '-'], rendered.stdout);
      expectOk(applied, 'server-side dry run');
      expect(applied.stdout).to.match(/created \(server dry run\)/);
      expect(applied.stderr).not.to.match(/unknown field|warning/i);
    });
  }

  it('refuses values the schema does not allow, naming the field', async () => {
    const oneReplica = await runTool('helm', ['template', 'authz', CHART, '--set', 'replicas=1']);
    expect(oneReplica.code).to.not.equal(0);
    expect(oneReplica.stderr).to.contain("at '/replicas': minimum: got 1, want 2");
    const unknown = await runTool('helm', ['template', 'authz', CHART, '--set', 'redis.emptyDir=true']);
    expect(unknown.code).to.not.equal(0);
    expect(unknown.stderr).to.match(/at '\/redis'.*additional properties 'emptyDir' not allowed/);
    const noUrl = await runTool('helm', ['template', 'authz', CHART, '--set', 'redis.mode=external']);
    expect(noUrl.code).to.not.equal(0);
    expect(noUrl.stderr).to.contain('redis.url (or redis.sentinels) is required when redis.mode=external');
  });

  it("stops an edge pod without resetting its requests: both containers' preStop drains the edge Envoy with the image's own command, within the grace period", async () => {
    interface Container { name: string; args?: string[]; lifecycle?: { preStop?: { exec?: { command: string[] } } } }
    interface Deployment { kind: string; spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: Container[]; initContainers?: Container[] } } } }
    const podOf = async (values: string[]) => {
      const rendered = await runTool('helm', ['template', 'authz', CHART, '--namespace', NAMESPACE, ...setArgs(values)]);
      expectOk(rendered, 'helm template');
      return parseAllDocuments(rendered.stdout).map((doc) => doc.toJS() as Deployment | null).find((doc) => doc?.kind === 'Deployment')!.spec.template.spec;
    };
    // The image runs `node <flags> <script>`: the hook runs the same script.
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(await readFile(path.join(repoRoot, 'Dockerfile'), 'utf8'))![1]!) as string[];
    const hook = (min: number, timeout: number) => ['node', entrypoint.at(-1)!, 'drain-edge', '--envoy-admin=127.0.0.1:19000', `--min-ms=${min}`, `--timeout-ms=${timeout}`];

    const pod = await podOf([]);
    const byName = (name: string) => pod.containers.find((c) => c.name === name)!;
    expect(pod.initContainers![0]!.args).to.include('--envoy-admin-port=19000');
    for (const name of ['serve', 'envoy']) expect(byName(name).lifecycle?.preStop?.exec?.command, name).to.deep.equal(hook(5000, 20000));
    expect(byName('envoy').args!.slice(-4)).to.deep.equal(envoyDrainArgs(20));
    expect(pod.terminationGracePeriodSeconds).to.equal(30);

    const longer = await podOf(['edge.drain.minSeconds=10', 'edge.drain.timeoutSeconds=50']);
    expect(longer.containers.find((c) => c.name === 'serve')!.lifecycle?.preStop?.exec?.command).to.deep.equal(hook(10000, 50000));
    expect(longer.containers.find((c) => c.name === 'envoy')!.args!.slice(-4)).to.deep.equal(envoyDrainArgs(50));
    expect(longer.terminationGracePeriodSeconds).to.equal(60);

    // No edge Envoy in the pod under Istio: nothing to drain.
    const istio = await podOf(RENDERINGS['Istio CUSTOM provider']!);
    expect(istio.containers.map((c) => c.lifecycle)).to.deep.equal([undefined]);
  });

  it('never puts the ledger on emptyDir: the bundled Redis keeps its data on PVCs that outlive the StatefulSet', async () => {
    const rendered = await runTool('helm', ['template', 'authz', CHART, '--namespace', NAMESPACE]);
    interface StatefulSet { kind: string; spec: { volumeClaimTemplates: { metadata: { name: string } }[]; persistentVolumeClaimRetentionPolicy: unknown; template: { spec: { volumes: unknown[] } } } }
    const statefulSet = parseAllDocuments(rendered.stdout).map((doc) => doc.toJS() as StatefulSet | null).find((o) => o?.kind === 'StatefulSet');
    expect(statefulSet?.spec.volumeClaimTemplates.map((t) => t.metadata.name)).to.deep.equal(['data']);
    expect(statefulSet?.spec.persistentVolumeClaimRetentionPolicy).to.deep.equal({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(JSON.stringify(statefulSet?.spec.template.spec.volumes)).not.to.contain('emptyDir');
  });

  it('helm install creates every object: CRDs established, the controller bound to exactly its namespaced permissions', async () => {
    const install = await runTool('helm', [...kubeconfig, 'install', 'authz', CHART, '--namespace', NAMESPACE]);
    expectOk(install, 'helm install');
    const manifest = await runTool('helm', [...kubeconfig, 'get', 'manifest', 'authz', '--namespace', NAMESPACE]);
    const objects = parseAllDocuments(manifest.stdout).map((doc) => doc.toJS() as { apiVersion: string; kind: string; metadata: { name: string } } | null).filter((o) => o !== null);
    expect(objects.length).to.be.greaterThan(10);
    const cluster = clusterAs(plane.adminKubeconfig);
    for (const object of objects) {
      expect(await cluster.read(object.apiVersion, object.kind, object.metadata.name, NAMESPACE), `${object.kind}/${object.metadata.name}`).to.not.equal(undefined);
    }
    // helm installs crds/ first; all three become Established.
    const crds = (await readdir(path.join(CHART, 'crds'))).map((file) => file.replace(/\.yaml$/, ''));
    expectOk(await runTool('kubectl', [...kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', ...crds.map((name) => `crd/${name}`)]), 'chart CRDs established');

    const serviceAccount = `system:serviceaccount:${NAMESPACE}:authz-storage-authz`;
    const can = async (verb: string, resource: string, namespace = NAMESPACE) => {
      const [name, subresource] = resource.split('/');
      const result = await runTool('kubectl', [...kubeconfig, 'auth', 'can-i', verb, name!, ...(subresource ? ['--subresource', subresource] : []), '-n', namespace, '--as', serviceAccount]);
      return result.stdout.trim();
    };
    await waitFor(async () => (await can('watch', 'storages.csm-authorization.storage.dell.com')) === 'yes', 'the RoleBinding to take effect', 30_000, 200);
    for (const [verb, resource] of [['list', 'csmtenants.csm-authorization.storage.dell.com'], ['watch', 'secrets'], ['patch', 'storages.csm-authorization.storage.dell.com/status'], ['create', 'leases.coordination.k8s.io'], ['update', 'leases.coordination.k8s.io']]) {
      expect(await can(verb!, resource!), `${verb} ${resource}`).to.equal('yes');
    }
    // Least privilege: no writes to specs or Secrets, nothing outside its namespace.
    for (const [verb, resource, namespace] of [['patch', 'storages.csm-authorization.storage.dell.com'], ['delete', 'csmtenants.csm-authorization.storage.dell.com'], ['create', 'secrets'], ['list', 'secrets', 'kube-system'], ['list', 'pods']]) {
      expect(await can(verb!, resource!, namespace), `${verb} ${resource} in ${namespace ?? NAMESPACE}`).to.equal('no');
    }
    // A second install (upgrade) keeps the generated signing key and TLS certificate: tokens stay valid.
    const before = await runTool('kubectl', [...kubeconfig, 'get', 'secret', 'authz-storage-authz-signing-keys', '-n', NAMESPACE, '-o', 'jsonpath={.data.k1}']);
    expectOk(await runTool('helm', [...kubeconfig, 'upgrade', 'authz', CHART, '--namespace', NAMESPACE]), 'helm upgrade');
    const after = await runTool('kubectl', [...kubeconfig, 'get', 'secret', 'authz-storage-authz-signing-keys', '-n', NAMESPACE, '-o', 'jsonpath={.data.k1}']);
    expect(before.stdout).to.have.length.greaterThan(40);
    expect(after.stdout).to.equal(before.stdout);
  });

  it("the edge init container's command renders one cluster per accepted Storage CR of the namespace, leaving out an invalid one", async () => {
    const cluster = clusterAs(plane.adminKubeconfig);
    await cluster.installCrds();
    await cluster.apply(cr('Storage', 'pflex-a', NAMESPACE, { type: 'powerflex', endpoint: 'https://10.0.0.1', systemID: '7045c4cc20dffc0f', skipCertificateValidation: false, storageSystemCredentials: { secret: 'pflex-a-creds' } }));
    await cluster.apply(cr('Storage', 'pflex-b', NAMESPACE, { type: 'powerflex', endpoint: 'https://10.0.0.2', systemID: '7045c4cc20dffc0f', skipCertificateValidation: false, storageSystemCredentials: { secret: 'pflex-b-creds' } }));
    const output = path.join(os.tmpdir(), `edge-${process.pid}.json`);
    const { stderr } = await promisify(execFile)(process.execPath, [
      '--import', 'tsx', path.join(repoRoot, 'src/main.ts'), 'render-edge-config', '--resources', 'kubernetes', '--namespace', NAMESPACE, '--kubeconfig', plane.adminKubeconfig,
      '--cert-file', '/etc/storage-authz/tls/tls.crt', '--key-file', '/etc/storage-authz/tls/tls.key', '--authz', 'unix:/run/storage-authz/authz.sock',
      '--authz-http', 'unix:/run/storage-authz/check-http.sock', '--format', 'json', '--output', output,
    ], { cwd: repoRoot });
    try {
      const bootstrap = JSON.parse(await readFile(output, 'utf8')) as { static_resources: { clusters: { name: string }[] } };
      const names = bootstrap.static_resources.clusters.map((c) => c.name);
      // Two Storage objects with one systemID: the controller's rule keeps one and leaves the other out, naming it.
      expect(names.filter((name) => name.startsWith('storage-pflex'))).to.deep.equal(['storage-pflex-a']);
      expect(names).to.include.members(['storage-authz', 'storage-authz-http']);
      expect(stderr).to.match(/render-edge-config: left out Storage\/pflex-b: .*7045c4cc20dffc0f/);
    } finally {
      await rm(output, { force: true });
    }
  });
});
