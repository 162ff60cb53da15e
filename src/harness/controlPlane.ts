// A real Kubernetes control plane for tests: etcd + kube-apiserver on free loopback ports, TLS with
// a throw-away CA, RBAC, ServiceAccount token issuing, and kubeconfigs for an admin (system:masters)
// or any other user (a client certificate the CA signs). No kubelet, scheduler or
// controller-manager: Pods never run; tests exercise what the API server does.
//
// The binaries come from scripts/build-control-plane.sh (a per-user cache outside the clone), or
// from a directory given in STORAGE_AUTHZ_K8S_BIN / KUBEBUILDER_ASSETS (envtest assets).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { freePort } from './ports.js';
import { start, type Started } from './process.js';
import { repoRoot } from './tools.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** The version scripts/build-control-plane.sh builds (read from it: one source). */
export const KUBERNETES_VERSION = /^K8S_VERSION=(\S+)/m.exec(readFileSync(path.join(repoRoot, 'scripts/build-control-plane.sh'), 'utf8'))?.[1] ?? 'unknown';

/** Where scripts/build-control-plane.sh puts the binaries. */
export function controlPlaneBinDir(): string {
  const provided = process.env.STORAGE_AUTHZ_K8S_BIN ?? process.env.KUBEBUILDER_ASSETS;
  if (provided) return provided;
  const cacheRoot = process.env.STORAGE_AUTHZ_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'storage-authz');
  return path.join(cacheRoot, `k8s-${KUBERNETES_VERSION}`, 'bin');
}

/** A binary of the control-plane build: etcd, kube-apiserver, kubectl or helm. */
export function controlPlaneTool(name: 'etcd' | 'kube-apiserver' | 'kubectl' | 'helm'): string {
  const file = path.join(controlPlaneBinDir(), name);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run 'npm run setup' (builds the control plane once, 8–11 minutes) or set KUBEBUILDER_ASSETS to a directory holding etcd and kube-apiserver`);
  }
  return file;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  server: string;
  /** PEM of the CA that signed the API server's certificate and every client certificate. */
  caPem: string;
  /** A kubeconfig file for a cluster admin (group system:masters: RBAC does not apply). */
  adminKubeconfig: string;
  /** The service-account issuer (`--service-account-issuer`), also the token audience by default. */
  issuer: string;
  /** A kubeconfig file for `user` (and `groups`), authenticated by a client certificate; RBAC applies. */
  userKubeconfig(user: string, groups?: string[]): Promise<string>;
  /** `<issuer>/openid/v1/jwks`: the service-account keys, readable without credentials. */
  jwksUri: string;
  /** PEM of the private key tokens are signed with now (to forge what only the cluster could sign, e.g. an expired token). */
  signingKeyPem(): Promise<string>;
  /**
   * Restarts kube-apiserver signing with a new key; the previous keys still verify (and stay in
   * the JWKS) when `keepPrevious`, as in a staged rotation, else only the new one does.
   */
  rotateServiceAccountKey(options: { keepPrevious: boolean }): Promise<void>;
  /** Stops kube-apiserver and starts it again on the same port and etcd (a watch sees the connection drop). */
  restartApiServer(): Promise<void>;
  /** Stops both processes (by PID) and removes their files. */
  stop(): Promise<void>;
}

interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

async function makePki(dir: string): Promise<Pki> {
  const caKey = path.join(dir, 'ca.key');
  const caCert = path.join(dir, 'ca.crt');
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', '/CN=storage-authz-test-ca'], dir);
  // The API server's serving certificate, for the loopback address the tests connect to.
  await signed({ dir, caCert, caKey }, 'apiserver', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  // Service-account token signing key pair.
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], dir);
  await openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return { dir, caCert, caKey };
}

/** A key and a certificate signed by the CA; returns the two file paths. */
async function signed(pki: Pki, name: string, subject: string, extensions: string): Promise<{ cert: string; key: string }> {
  const key = path.join(pki.dir, `${name}.key`);
  const cert = path.join(pki.dir, `${name}.crt`);
  const ext = path.join(pki.dir, `${name}.ext`);
  await writeFile(ext, `${extensions}\n`);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', `${name}.csr`, '-subj', subject], pki.dir);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext], pki.dir);
  return { cert, key };
}

function kubeconfigYaml(server: string, caPem: string, user: string, certPem: string, keyPem: string): string {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: test\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${b64(caPem)}`,
    'users:',
    `- name: ${user}\n  user:\n    client-certificate-data: ${b64(certPem)}\n    client-key-data: ${b64(keyPem)}`,
    'contexts:',
    `- name: test\n  context:\n    cluster: test\n    user: ${user}\n    namespace: default`,
    'current-context: test',
    '',
  ].join('\n');
}

export interface ControlPlaneOptions {
  /** Extra `--api-audiences` besides the issuer. */
  apiAudiences?: string[];
  /** Readiness deadline per process (the machine may be loaded). */
  timeoutMs?: number;
}

/** Starts etcd and kube-apiserver; resolves once `/readyz` answers 200. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const etcdBin = controlPlaneTool('etcd');
  const apiServerBin = controlPlaneTool('kube-apiserver');
  const dir = await mkdtemp(path.join(tmpdir(), 'storage-authz-k8s-'));
  const processes: Started[] = [];
  let apiServer: Started | undefined;
  const stopAll = async () => {
    await apiServer?.stop(10_000);
    for (const started of processes.reverse()) await started.stop(10_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const pki = await makePki(dir);
    const caPem = await readFile(pki.caCert, 'utf8');
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdData = path.join(dir, 'etcd');
    await mkdir(etcdData, { mode: 0o700 });
    const etcd = start(etcdBin, [
      '--name', 'test',
      '--data-dir', etcdData,
      '--listen-client-urls', `http://127.0.0.1:${etcdPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `test=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level', 'warn',
    ]);
    processes.push(etcd);
    await waitFor(async () => (await get(`http://127.0.0.1:${etcdPort}/health`)) === 200, `etcd health on :${etcdPort}\n${etcd.output().slice(-2000)}`, timeoutMs, 100);

    const server = `https://127.0.0.1:${apiPort}`;
    const admin = await signed(pki, 'admin', '/O=system:masters/CN=test-admin', 'extendedKeyUsage=clientAuth');
    const adminKubeconfig = path.join(dir, 'admin.kubeconfig');
    await writeFile(adminKubeconfig, kubeconfigYaml(server, caPem, 'test-admin', await readFile(admin.cert, 'utf8'), await readFile(admin.key, 'utf8')), { mode: 0o600 });
    const dispatcher = new Agent({ connect: { ca: caPem, cert: await readFile(admin.cert), key: await readFile(admin.key) } });

    let signingKey = path.join(dir, 'sa.key');
    let verifyingKeys = [path.join(dir, 'sa.pub')];
    let rotations = 0;
    const apiServerArgs = () => [
      '--etcd-servers', `http://127.0.0.1:${etcdPort}`,
      '--bind-address', '127.0.0.1',
      '--advertise-address', '127.0.0.1',
      '--secure-port', String(apiPort),
      '--tls-cert-file', path.join(dir, 'apiserver.crt'),
      '--tls-private-key-file', path.join(dir, 'apiserver.key'),
      '--client-ca-file', pki.caCert,
      '--authorization-mode', 'RBAC',
      '--service-account-issuer', server,
      ...verifyingKeys.flatMap((file) => ['--service-account-key-file', file]),
      '--service-account-signing-key-file', signingKey,
      '--api-audiences', [server, ...(options.apiAudiences ?? [])].join(','),
      '--service-cluster-ip-range', '10.0.0.0/24',
      // A loopback advertise address is not allowed in the `kubernetes` Endpoints object.
      '--endpoint-reconciler-type', 'none',
      '--cert-dir', path.join(dir, 'apiserver-certs'),
      '--v', '0',
    ];
    const startApiServer = async () => {
      apiServer = start(apiServerBin, apiServerArgs());
      const started = apiServer;
      await waitFor(async () => {
        if (started.child.exitCode !== null) throw new Error(`kube-apiserver exited (${started.child.exitCode}):\n${started.output().slice(-4000)}`);
        return (await get(`${server}/readyz`, dispatcher)) === 200;
      }, `kube-apiserver /readyz on :${apiPort}`, timeoutMs, 200);
    };
    await startApiServer();
    // Trap 5 of reference/kubernetes-control-plane.md: OIDC discovery (and the JWKS) need this
    // binding to be readable anonymously, as a verifier outside the cluster reads them.
    const binding = await request(`${server}/apis/rbac.authorization.k8s.io/v1/clusterrolebindings`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'service-account-issuer-discovery-anonymous' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:service-account-issuer-discovery' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:unauthenticated' }],
      }),
    });
    const bindingBody = await binding.body.text();
    if (binding.statusCode !== 201) throw new Error(`issuer-discovery ClusterRoleBinding: ${binding.statusCode} ${bindingBody}`);

    return {
      server,
      caPem,
      adminKubeconfig,
      issuer: server,
      jwksUri: `${server}/openid/v1/jwks`,
      signingKeyPem: () => readFile(signingKey, 'utf8'),
      async rotateServiceAccountKey({ keepPrevious }) {
        rotations += 1;
        const key = path.join(dir, `sa-${rotations}.key`);
        const pub = path.join(dir, `sa-${rotations}.pub`);
        await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key], dir);
        await openssl(['pkey', '-in', key, '-pubout', '-out', pub], dir);
        signingKey = key;
        verifyingKeys = keepPrevious ? [...verifyingKeys, pub] : [pub];
        await apiServer?.stop(10_000);
        await startApiServer();
      },
      async userKubeconfig(user, groups = []) {
        const subject = `${groups.map((g) => `/O=${g}`).join('')}/CN=${user}`;
        const name = `user-${user.replace(/[^A-Za-z0-9-]/g, '_')}`;
        const { cert, key } = await signed(pki, name, subject, 'extendedKeyUsage=clientAuth');
        const file = path.join(dir, `${name}.kubeconfig`);
        await writeFile(file, kubeconfigYaml(server, caPem, user, await readFile(cert, 'utf8'), await readFile(key, 'utf8')), { mode: 0o600 });
        return file;
      },
      async restartApiServer() {
        await apiServer?.stop(10_000);
        await startApiServer();
      },
      async stop() {
        await dispatcher.close();
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** HTTP status of a GET, or 0 when nothing answers. */
async function get(url: string, dispatcher?: Agent): Promise<number> {
  try {
    const response = await request(url, dispatcher ? { dispatcher } : {});
    await response.body.dump();
    return response.statusCode;
  } catch {
    return 0;
  }
}
