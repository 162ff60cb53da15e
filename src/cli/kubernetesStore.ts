// The objects of one Kubernetes namespace as authzctl edits them: CSMTenant/CSMRole/Storage CRs
// (and the credential Secret of `storage create`) written with server-side apply under the field
// manager `authzctl`, so who may change what is Kubernetes RBAC. A refusal is the API server's own
// message (`… is forbidden: User "x" cannot patch resource "csmroles" …`), printed as it is.
import { CustomObjectsApi, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import type { LoadedObject } from '../resources/load.js';
import { GROUP, KIND_NAMES, VERSION } from '../resources/crds.js';
import { contextNamespace, describeApiError, loadKubeConfig, retryingTooManyRequests, statusOf, type KubeConnection } from '../resources/kubernetes/client.js';
import { RESOURCE_KINDS, validateObject } from '../resources/objects.js';
import { CliError } from './errors.js';
import { ObjectStore } from './resourceStore.js';

export const FIELD_MANAGER = 'authzctl';

export interface KubernetesStoreOptions extends KubeConnection {
  /** Default: the kubeconfig context's namespace, else `default`. */
  namespace?: string;
}

export class KubernetesStore extends ObjectStore {
  private constructor(
    private readonly api: KubernetesObjectApi,
    readonly namespace: string,
    private readonly server: string,
    objects: readonly LoadedObject[],
  ) {
    super(objects);
  }

  get location(): string {
    return `namespace ${this.namespace}`;
  }

  /** Lists the three kinds; an object the service would not accept is left out (its status says why). */
  static async open(options: KubernetesStoreOptions): Promise<KubernetesStore> {
    let config;
    try {
      config = loadKubeConfig(options);
    } catch (error) {
      throw new CliError(`cannot load the kubeconfig: ${(error as Error).message}`);
    }
    const namespace = options.namespace ?? contextNamespace(config);
    const server = config.getCurrentCluster()?.server ?? '';
    const custom = config.makeApiClient(CustomObjectsApi);
    const objects: LoadedObject[] = [];
    for (const kind of RESOURCE_KINDS) {
      const { plural } = KIND_NAMES[kind];
      let list: { items: Record<string, unknown>[] };
      try {
        list = (await retryingTooManyRequests(() => custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural }))) as typeof list;
      } catch (error) {
        const hint = statusOf(error) === 404 ? ` (are the CRDs installed? kubectl apply -f charts/storage-authz/crds/)` : '';
        throw new CliError(`cannot list ${plural} in namespace ${namespace}: ${describeApiError(error, server).message}${hint}`);
      }
      for (const item of list.items) {
        const result = validateObject(item);
        if (result.ok) objects.push({ file: `namespace ${namespace}`, object: result.value, document: printable(item) });
      }
    }
    return new KubernetesStore(KubernetesObjectApi.makeApiClient(config), namespace, server, objects);
  }

  /** Writes (server-side apply) a Secret with `username` and `password`, as a Storage's credentials. */
  async saveCredentialsSecret(name: string, credentials: { username: string; password: string }): Promise<void> {
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    await this.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: this.namespace },
      type: 'Opaque',
      data: { username: b64(credentials.username), password: b64(credentials.password) },
    } as KubernetesObject, `Secret "${name}"`);
  }

  protected place(loaded: LoadedObject): string {
    loaded.file = this.location;
    return this.location;
  }

  protected async write(loaded: LoadedObject): Promise<void> {
    const { apiVersion, kind, metadata, spec } = loaded.document as { apiVersion: string; kind: string; metadata: KubernetesObject['metadata']; spec: unknown };
    const { name, labels, annotations } = metadata ?? {};
    // Only what authzctl means to own: no status, resourceVersion or managedFields.
    const body = { apiVersion, kind, metadata: { name, namespace: this.namespace, ...(labels && { labels }), ...(annotations && { annotations }) }, spec };
    await this.apply(body as KubernetesObject, `${kind} "${name}"`);
  }

  protected async erase(existing: LoadedObject): Promise<string> {
    const target = { apiVersion: `${GROUP}/${VERSION}`, kind: existing.object.kind, metadata: { name: existing.object.name, namespace: this.namespace } };
    try {
      await retryingTooManyRequests(() => this.api.delete(target));
    } catch (error) {
      throw this.refusal(error, `cannot delete ${existing.object.kind} "${existing.object.name}"`);
    }
    return this.location;
  }

  private async apply(body: KubernetesObject, what: string): Promise<void> {
    try {
      // force: authzctl's change wins over fields another manager (kubectl, a GitOps tool) set.
      await retryingTooManyRequests(() => this.api.patch(body, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply));
    } catch (error) {
      throw this.refusal(error, `cannot write ${what}`);
    }
  }

  private refusal(error: unknown, doing: string): CliError {
    return new CliError(`${doing} in namespace ${this.namespace}: ${describeApiError(error, this.server).message}`);
  }
}

/** The CR as `get -o yaml` prints it (and `update` edits it): no server bookkeeping. */
function printable(item: Record<string, unknown>): Record<string, unknown> {
  const metadata = (item.metadata ?? {}) as Record<string, unknown>;
  const { name, namespace, labels, annotations } = metadata;
  return {
    apiVersion: item.apiVersion,
    kind: item.kind,
    metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
    spec: item.spec,
    ...(item.status ? { status: item.status } : {}),
  };
}
