// `authzctl inject` on a CSI PowerFlex controller Deployment shaped as csi-vxflexos deploys it: the
// result is accepted by a real API server (strict server-side validation), injecting twice changes
// nothing, and the added container — started with exactly its environment and mounts — is accepted
// by the sidecar's own parser and becomes ready.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { startControlPlane, type ControlPlane } from '../src/harness/controlPlane.js';
import { freePort } from '../src/harness/ports.js';
import { waitForOutput, type Started } from '../src/harness/process.js';
import { envoyBin, repoRoot } from '../src/harness/tools.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { runAuthzctl } from './support/authzctl.js';
import { startInLayout } from './support/dellLayout.js';
import { clusterAs } from './support/kubernetes.js';
import { runTool } from './support/tools.js';

const NAMESPACE = 'vxflexos';

/** The controller Deployment of csi-vxflexos (trimmed to what inject touches), as `kubectl get -o yaml` prints it. */
const CONTROLLER = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vxflexos-controller
  namespace: ${NAMESPACE}
spec:
  replicas: 2
  selector:
    matchLabels: { app: vxflexos-controller }
  template:
    metadata:
      labels: { app: vxflexos-controller }
    spec:
      serviceAccountName: vxflexos-controller
      containers:
        - name: provisioner
          image: registry.k8s.io/sig-storage/csi-provisioner:v5.2.0
          args: ["--csi-address=$(ADDRESS)", "--volume-name-prefix=k8s"]
          env: [{ name: ADDRESS, value: /var/run/csi/csi.sock }]
          volumeMounts: [{ name: socket-dir, mountPath: /var/run/csi }]
        - name: driver
          image: quay.io/dell/container-storage-modules/csi-vxflexos:v2.15.0
          command: [/csi-vxflexos.sh]
          args: ["--array-config=/vxflexos-config/config", "--driver-config-params=/vxflexos-config-params/driver-config-params.yaml"]
          env:
            - { name: CSI_ENDPOINT, value: /var/run/csi/csi.sock }
            - { name: X_CSI_MODE, value: controller }
          volumeMounts:
            - { name: socket-dir, mountPath: /var/run/csi }
            - { name: vxflexos-config, mountPath: /vxflexos-config }
            - { name: vxflexos-config-params, mountPath: /vxflexos-config-params }
      volumes:
        - { name: socket-dir, emptyDir: {} }
        - { name: vxflexos-config, secret: { secretName: vxflexos-config } }
        - { name: vxflexos-config-params, configMap: { name: vxflexos-config-params } }
`;

interface Container { name: string; env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[]; volumeMounts: { name: string; mountPath: string }[]; command?: string[]; args?: string[] }
interface Workload { spec: { template: { metadata: { annotations: Record<string, string> }; spec: { containers: Container[]; volumes: { name: string; secret?: { secretName: string } }[] } } } }

describe('authzctl inject', function () {
  this.timeout(240_000);
  let plane: ControlPlane;
  let dir: string;
  const started: Started[] = [];

  before(async () => {
    await promisify(execFile)('npx', ['tsc', '-p', 'src/cli/tsconfig.json'], { cwd: repoRoot });
    dir = await mkdtemp(path.join(os.tmpdir(), 'authzctl-inject-'));
    plane = await startControlPlane();
    await clusterAs(plane.adminKubeconfig).createNamespace(NAMESPACE);
  });

  after(async () => {
    for (const process of started.splice(0)) await process.stop();
    await plane?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const inject = (stdin: string, proxyHost = 'authz-storage-authz.authz.svc:443', extra: string[] = []) =>
    runAuthzctl(['inject', '--proxy-host', proxyHost, '--image', 'ghcr.io/storage-authz/storage-authz:0.1.0', ...extra], { stdin });

  it('adds the sidecar as Dell charts do, points the driver at the localhost list, and the API server accepts it (strict)', async () => {
    const result = await inject(CONTROLLER);
    expect(result.code, result.stderr).to.equal(0);
    const injected = parseYaml(result.stdout) as Workload;
    const pod = injected.spec.template;
    expect(pod.metadata.annotations).to.include({ 'com.dell.karavi-authorization-proxy': 'true' });
    expect(pod.spec.containers.map((c) => c.name)).to.deep.equal(['provisioner', 'driver', 'karavi-authorization-proxy']);
    const sidecar = pod.spec.containers[2]!;
    expect(sidecar.command).to.equal(undefined);
    expect(sidecar.args).to.equal(undefined);
    expect(sidecar.env.map((e) => e.name)).to.deep.equal(['PROXY_HOST', 'SKIP_CERTIFICATE_VALIDATION', 'PLUGIN_IDENTIFIER', 'ACCESS_TOKEN', 'REFRESH_TOKEN']);
    expect(sidecar.env.find((e) => e.name === 'PLUGIN_IDENTIFIER')?.value).to.equal('powerflex');
    expect(pod.spec.volumes.find((v) => v.name === 'vxflexos-config')?.secret?.secretName).to.equal('karavi-authorization-config');

    const applied = await runTool('kubectl', ['--kubeconfig', plane.adminKubeconfig, 'apply', '--dry-run=server', '--validate=strict', '-f', '-'], result.stdout);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(applied.stdout).to.contain('deployment.apps/vxflexos-controller created (server dry run)');
    expect(applied.stderr).to.equal('');
  });

  it('is idempotent: injecting its own output changes nothing', async () => {
    const once = await inject(CONTROLLER);
    const twice = await inject(once.stdout);
    expect(twice.code, twice.stderr).to.equal(0);
    expect(twice.stdout).to.equal(once.stdout);
  });

  it('passes other objects through and refuses a workload whose plugin it cannot tell, changing nothing', async () => {
    const service = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n    - port: 1\n';
    const passed = await inject(`${service}---\n${CONTROLLER}`);
    expect(parseAllDocuments(passed.stdout).map((d) => (d.toJS() as { kind: string }).kind)).to.deep.equal(['Service', 'Deployment']);
    const unknown = await inject(CONTROLLER.replaceAll('vxflexos-config', 'my-config'));
    expect(unknown.code).to.equal(1);
    expect(unknown.stdout).to.equal('');
    expect(unknown.stderr).to.contain('error: Deployment vxflexos-controller: no driver config volume (vxflexos-config, powermax-reverseproxy-secret, isilon-configs, powerstore-config) to detect the plugin from; give --plugin');
  });

  it("the added container, started with exactly its environment and mounts, is accepted by the sidecar's own parser", async () => {
    const edgePort = await freePort();
    // No edge runs here, so the edge's certificate is not checked (SKIP_CERTIFICATE_VALIDATION=true).
    const result = await inject(CONTROLLER, `localhost:${edgePort}`, ['--skip-certificate-validation']);
    const sidecar = (parseYaml(result.stdout) as Workload).spec.template.spec.containers.find((c) => c.name === 'karavi-authorization-proxy')!;
    const pair = await mintTokenPair({ keys: { defaultKid: 'k', keys: new Map([['k', new Uint8Array(48).fill(7)]]) }, subject: 'csm-tenant', group: 'team-a', roles: ['bronze'], accessTtlSeconds: 3600, refreshTtlSeconds: 7200 });
    const secrets: Record<string, Record<string, string>> = { 'proxy-authz-tokens': { access: pair.access, refresh: pair.refresh } };
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const variable of sidecar.env) env[variable.name] = variable.value ?? secrets[variable.valueFrom!.secretKeyRef.name]![variable.valueFrom!.secretKeyRef.key];
    const port = await freePort();
    const mounted: Record<string, Record<string, string>> = {
      'vxflexos-config-params': { 'driver-config-params.yaml': 'CSI_LOG_LEVEL: info\n' },
      'karavi-authorization-config': { config: JSON.stringify([{ username: 'x', password: 'x', intendedEndpoint: 'https://10.0.0.1', endpoint: `https://localhost:${port}`, systemID: '542a2d5f5122210f', skipCertificateValidation: true }]) },
      'proxy-server-root-certificate': { 'rootCertificate.pem': '' },
      'karavi-authorization-tmp': {},
    };
    const files: Record<string, string> = {};
    for (const mount of sidecar.volumeMounts) {
      for (const [key, content] of Object.entries(mounted[mount.name]!)) files[path.join(mount.mountPath, key)] = content;
    }
    expect(env.SKIP_CERTIFICATE_VALIDATION).to.equal('true');
    const sidecarProcess = await startInLayout(path.join(dir, 'root'), files, process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/main.ts'), 'sidecar', '--envoy-bin', envoyBin], env, repoRoot);
    started.push(sidecarProcess);
    await waitForOutput(sidecarProcess, /"msg":"sidecar ready"/, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${sidecarProcess.output().slice(-3000)}`);
    });
    expect(sidecarProcess.output()).to.contain('"driverConfig":"/etc/karavi-authorization/config/config"').and.contain('"tokens":"environment"').and.contain(`"port":${port}`);
  });
});
