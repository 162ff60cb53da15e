// authzctl in Kubernetes mode, the built binary against a real kube-apiserver (one control plane for
// this file): every kind created, listed, updated and deleted as CRs with server-side apply (the
// array password into a Secret, never into output), and a user whose RBAC lacks a verb gets the API
// server's own refusal on one line.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../src/harness/controlPlane.js';
import { repoRoot } from '../src/harness/tools.js';
import { API_VERSION } from '../src/resources/types.js';
import { runAuthzctl, type CliResult } from './support/authzctl.js';
import { clusterAs, type Cluster } from './support/kubernetes.js';

const NS = 'authz';
const SYSTEM_ID = '7045c4cc20dffc0f';
const PASSWORD = 'Arr4y-Passw0rd-K8s-Test-51c3';
const GROUP = 'csm-authorization.storage.dell.com';


describe('authzctl in Kubernetes mode (built binary, real kube-apiserver)', function () {
  this.timeout(180_000);
  let controlPlane: ControlPlane;
  let cluster: Cluster;
  const transcript: string[] = [];

  function authzctl(kubeconfig: string, args: string[], stdin = ''): Promise<CliResult> {
    const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig };
    delete env.AUTHZCTL_RESOURCES_DIR;
    return runAuthzctl(['--kube-namespace', NS, ...args], { stdin, env, transcript });
  }

  const admin = (args: string[], stdin?: string) => authzctl(controlPlane.adminKubeconfig, args, stdin);
  const ok = (result: CliResult) => {
    expect(result.code, `exit code; stderr: ${result.stderr}`).to.equal(0);
    return result;
  };
  const read = (kind: string, name: string) => cluster.read<KubernetesObject & { spec?: Record<string, unknown>; data?: Record<string, string> }>(kind === 'Secret' ? 'v1' : API_VERSION, kind, name, NS);

  before(async function () {
    this.timeout(240_000);
    await promisify(execFile)('npx', ['tsc', '-p', 'src/cli/tsconfig.json'], { cwd: repoRoot });
    controlPlane = await startControlPlane();
    cluster = clusterAs(controlPlane.adminKubeconfig);
    await cluster.installCrds();
    await cluster.createNamespace(NS);
    // A viewer may read our CRs but not change them.
    await cluster.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'csm-viewer', namespace: NS },
      rules: [{ apiGroups: [GROUP], resources: ['csmtenants', 'csmroles', 'storages'], verbs: ['get', 'list', 'watch'] }],
    } as KubernetesObject);
    await cluster.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'csm-viewer', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'csm-viewer' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'viewer' }],
    } as KubernetesObject);
  });
  after(async () => {
    await controlPlane?.stop();
    // Over the whole file: the array password was never printed.
    expect(transcript.join('\n')).to.not.include(PASSWORD);
  });

  it('creates, lists, updates and deletes each kind as CRs (server-side apply, field manager authzctl)', async () => {
    const storageName = `powerflex-${SYSTEM_ID}`;
    const created = ok(await admin(['storage', 'create', '--type', 'powerflex', '--endpoint', 'https://10.0.0.1', '--system-id', SYSTEM_ID, '--username', 'admin', '--password-stdin', '--skip-array-check'], `${PASSWORD}\n`));
    expect(created.stdout).to.equal(
      `credentials for Storage "${storageName}" written to Secret "${storageName}-credentials" in namespace ${NS} (username, password)\n` +
        `Storage "${storageName}" created in namespace ${NS}\n`,
    );
    const secret = await read('Secret', `${storageName}-credentials`);
    expect(Buffer.from(secret!.data!.password!, 'base64').toString()).to.equal(PASSWORD);
    const storage = await read('Storage', storageName);
    expect(storage!.spec).to.deep.equal({ type: 'powerflex', endpoint: 'https://10.0.0.1', systemID: SYSTEM_ID, skipCertificateValidation: false, storageSystemCredentials: { secret: `${storageName}-credentials` } });
    expect(storage!.metadata!.managedFields!.map((f) => f.manager)).to.deep.equal(['authzctl']);

    expect(ok(await admin(['role', 'create', '--name', 'gold', '--system-type', 'powerflex', '--system-id', SYSTEM_ID, '--pool', 'bronze', '--quota', '100GiB'])).stdout).to.equal(`CSMRole "gold" created in namespace ${NS}\n`);
    expect(ok(await admin(['tenant', 'create', '--name', 'team-a'])).stdout).to.equal(`CSMTenant "team-a" created in namespace ${NS}\n`);
    expect(ok(await admin(['rolebinding', 'create', '--tenant', 'team-a', '--role', 'gold'])).stdout).to.equal(`role "gold" bound to tenant "team-a" (namespace ${NS})\n`);
    ok(await admin(['role', 'update', '--name', 'gold', '--quota', '200GiB', '--enforcement', 'report']));
    expect((await read('CSMRole', 'gold'))!.spec).to.include({ quota: '200GiB', enforcement: 'report' });

    expect(ok(await admin(['tenant', 'list'])).stdout).to.equal('NAME     ROLES   APPROVE-SDC   REVOKED   VOLUME-PREFIX   ENFORCEMENT\nteam-a   gold    false         false     -               per role\n');
    expect(ok(await admin(['role', 'list'])).stdout).to.equal(`NAME   SYSTEM                       POOL     QUOTA    TENANTS   ENFORCEMENT\ngold   powerflex/${SYSTEM_ID}   bronze   200GiB   team-a    report\n`);
    const listed = JSON.parse(ok(await admin(['-o', 'json', 'storage', 'list'])).stdout) as { kind: string; items: { metadata: { name: string } }[] };
    expect(listed.kind).to.equal('List');
    expect(listed.items.map((item) => item.metadata.name)).to.deep.equal([storageName]);

    // The service's own cross checks run before anything is written.
    const bound = await admin(['role', 'delete', '--name', 'gold']);
    expect(bound.code).to.equal(1);
    expect(bound.stderr).to.equal('error: role "gold" is bound to tenant(s) team-a; unbind it first (authzctl rolebinding delete --tenant team-a --role gold)\n');

    ok(await admin(['rolebinding', 'delete', '--tenant', 'team-a', '--role', 'gold']));
    expect(ok(await admin(['tenant', 'delete', '--name', 'team-a'])).stdout).to.equal(`CSMTenant "team-a" deleted from namespace ${NS}\n`);
    ok(await admin(['role', 'delete', '--name', 'gold']));
    ok(await admin(['storage', 'delete', '--name', storageName]));
    for (const [kind, name] of [['CSMTenant', 'team-a'], ['CSMRole', 'gold'], ['Storage', storageName]] as const) {
      expect(await read(kind, name), `${kind} ${name}`).to.equal(undefined);
    }
    expect((await admin(['tenant', 'list'])).stderr).to.equal('No CSMTenant objects.\n');
  });

  it("a user whose RBAC lacks the verb gets the API server's refusal, and nothing changes", async () => {
    ok(await admin(['tenant', 'create', '--name', 'team-b']));
    const viewer = await controlPlane.userKubeconfig('viewer');
    expect(ok(await authzctl(viewer, ['tenant', 'list'])).stdout).to.include('team-b');

    const create = await authzctl(viewer, ['tenant', 'create', '--name', 'team-c']);
    expect(create.code).to.equal(1);
    expect(create.stderr).to.equal(
      `error: cannot write CSMTenant "team-c" in namespace ${NS}: the API server refused (403 Forbidden): csmtenants.${GROUP} "team-c" is forbidden: User "viewer" cannot patch resource "csmtenants" in API group "${GROUP}" in the namespace "${NS}"\n`,
    );
    expect(await read('CSMTenant', 'team-c')).to.equal(undefined);

    const remove = await authzctl(viewer, ['tenant', 'delete', '--name', 'team-b']);
    expect(remove.stderr).to.equal(
      `error: cannot delete CSMTenant "team-b" in namespace ${NS}: the API server refused (403 Forbidden): csmtenants.${GROUP} "team-b" is forbidden: User "viewer" cannot delete resource "csmtenants" in API group "${GROUP}" in the namespace "${NS}"\n`,
    );
    expect(await read('CSMTenant', 'team-b')).to.not.equal(undefined);

    const nobody = await controlPlane.userKubeconfig('nobody');
    const list = await authzctl(nobody, ['tenant', 'list']);
    expect(list.code).to.equal(1);
    expect(list.stderr).to.equal(
      `error: cannot list csmtenants in namespace ${NS}: the API server refused (403 Forbidden): csmtenants.${GROUP} is forbidden: User "nobody" cannot list resource "csmtenants" in API group "${GROUP}" in the namespace "${NS}"\n`,
    );
  });
});
