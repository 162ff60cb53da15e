// What tests do to a real API server as its admin: install our CRDs, create namespaces, apply and
// read objects, grant RBAC. Through @kubernetes/client-node, as the product itself talks to it.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi, loadYaml, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { repoRoot } from '../../src/harness/tools.js';
import { waitFor } from '../../src/harness/wait.js';
import { API_VERSION } from '../../src/resources/types.js';

export interface Cluster {
  apply<T extends KubernetesObject>(object: T): Promise<T>;
  read<T extends KubernetesObject = KubernetesObject & { status?: Record<string, unknown> }>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined>;
  remove(apiVersion: string, kind: string, name: string, namespace?: string): Promise<void>;
  /** Applies charts/storage-authz/crds/ and waits until the API server serves them. */
  installCrds(): Promise<void>;
  createNamespace(name: string): Promise<void>;
  /** A TokenRequest token of a service account (created when missing), as kubelet gets for a projected volume. */
  serviceAccountToken(namespace: string, name: string, audiences: string[], expirationSeconds?: number): Promise<string>;
  /**
   * A Pod running as `serviceAccount` (created when missing; with no kubelet it is never scheduled) and a
   * TokenRequest token bound to it, as kubelet gets one for CSIServiceAccountToken: the token names the pod's uid.
   */
  podToken(namespace: string, pod: string, serviceAccount: string, audiences: string[], expirationSeconds?: number): Promise<{ token: string; uid: string }>;
}

export function clusterAs(kubeconfig: string): Cluster {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  const api = KubernetesObjectApi.makeApiClient(config);
  const extensions = config.makeApiClient(ApiextensionsV1Api);
  const custom = config.makeApiClient(CustomObjectsApi);
  const core = config.makeApiClient(CoreV1Api);
  const cluster: Cluster = {
    apply: (object) => api.patch(object, undefined, undefined, 'test', true, PatchStrategy.ServerSideApply),
    async read(apiVersion, kind, name, namespace) {
      try {
        const header = { apiVersion, kind, metadata: { name, ...(namespace && { namespace }) } };
        return (await api.read(header as Parameters<typeof api.read>[0])) as never;
      } catch (error) {
        if ((error as { code?: number }).code === 404) return undefined;
        throw error;
      }
    },
    async remove(apiVersion, kind, name, namespace) {
      await api.delete({ apiVersion, kind, metadata: { name, ...(namespace && { namespace }) } });
    },
    async installCrds() {
      const dir = path.join(repoRoot, 'charts/storage-authz/crds');
      // loadYaml maps JSON names (x-kubernetes-int-or-string) to the client's model, which the typed
      // serializer needs: a plain object would lose them.
      const crds = await Promise.all((await readdir(dir)).map(async (file) => loadYaml<KubernetesObject>(await readFile(path.join(dir, file), 'utf8'))));
      for (const crd of crds) await cluster.apply(crd);
      for (const crd of crds) {
        await waitFor(async () => {
          const read = await extensions.readCustomResourceDefinition({ name: crd.metadata!.name! });
          return read.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
        }, `CRD ${crd.metadata!.name} to be established`, 30_000, 100);
        // Established is not yet served: a new CRD answers 429 until its storage is initialised.
        const { group, names } = (crd as KubernetesObject & { spec: { group: string; names: { plural: string } } }).spec;
        await waitFor(() => custom.listClusterCustomObject({ group, version: 'v1', plural: names.plural }).then(() => true, () => false), `${names.plural} to be served`, 60_000, 100);
      }
    },
    async createNamespace(name) {
      await cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    },
    async serviceAccountToken(namespace, name, audiences, expirationSeconds = 600) {
      await cluster.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
      const answer = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences, expirationSeconds } } });
      if (!answer.status?.token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
      return answer.status.token;
    },
    async podToken(namespace, pod, serviceAccount, audiences, expirationSeconds = 600) {
      await cluster.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } });
      const created = await cluster.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace }, spec: { serviceAccountName: serviceAccount, containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } as KubernetesObject);
      const uid = created.metadata!.uid!;
      const answer = await core.createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace,
        body: { spec: { audiences, expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod, uid } } },
      });
      if (!answer.status?.token) throw new Error(`TokenRequest for pod ${namespace}/${pod} returned no token`);
      return { token: answer.status.token, uid };
    },
  };
  return cluster;
}

/** A CSMTenant/CSMRole/Storage CR. */
export const cr = (kind: string, name: string, namespace: string, spec: Record<string, unknown>): KubernetesObject & { spec: Record<string, unknown> } => ({
  apiVersion: API_VERSION,
  kind,
  metadata: { name, namespace },
  spec,
});

export const credentialsSecret = (name: string, namespace: string, username: string, password: string): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  type: 'Opaque',
  data: { username: Buffer.from(username).toString('base64'), password: Buffer.from(password).toString('base64') },
} as KubernetesObject);

export interface ReadyCondition {
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** Waits until the CR's Ready condition speaks about its current generation and satisfies `check`. */
export async function waitForReady(cluster: Cluster, kind: string, name: string, namespace: string, check: (ready: ReadyCondition) => boolean, timeoutMs = 30_000): Promise<ReadyCondition> {
  let ready: ReadyCondition | undefined;
  await waitFor(async () => {
    const object = await cluster.read<KubernetesObject & { status?: { conditions?: (ReadyCondition & { type: string })[] } }>(API_VERSION, kind, name, namespace);
    ready = object?.status?.conditions?.find((c) => c.type === 'Ready');
    return ready !== undefined && ready.observedGeneration === object?.metadata?.generation && check(ready);
  }, `${kind} ${namespace}/${name} Ready condition`, timeoutMs, 100);
  return ready!;
}
