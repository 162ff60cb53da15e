// The Storage CRs of a namespace, read once and accepted by the controller's own rules — for what
// needs them at start-up only (the edge Envoy's bootstrap: one cluster per array).
import { CustomObjectsApi, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { GROUP, KIND_NAMES, VERSION } from '../crds.js';
import type { StorageSystem } from '../types.js';
import { accept } from './accept.js';
import { describeApiError, loadKubeConfig, retryingTooManyRequests, type KubeConnection } from './client.js';

export interface StorageList {
  storage: StorageSystem[];
  /** `Storage/<name>: <why>` for each object left out (the controller reports the same in its status). */
  rejected: string[];
}

export async function listStorageSystems(connection: KubeConnection & { namespace: string }): Promise<StorageList> {
  const config = loadKubeConfig(connection);
  const custom = config.makeApiClient(CustomObjectsApi);
  const { namespace } = connection;
  let list: KubernetesListObject<KubernetesObject>;
  try {
    list = (await retryingTooManyRequests(() => custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: KIND_NAMES.Storage.plural }))) as KubernetesListObject<KubernetesObject>;
  } catch (error) {
    throw describeApiError(error, config.getCurrentCluster()?.server);
  }
  const observed = list.items.map((object) => ({
    kind: 'Storage' as const,
    name: object.metadata?.name ?? '',
    generation: object.metadata?.generation ?? 0,
    document: { ...object, apiVersion: list.apiVersion ?? `${GROUP}/${VERSION}`, kind: 'Storage' } as unknown as Record<string, unknown>,
  }));
  const { snapshot, verdicts } = accept(observed, new Map(), 1, `namespace ${namespace}`);
  const rejected = [...verdicts].filter(([, verdict]) => !verdict.ready).map(([key, verdict]) => `${key}: ${verdict.message}`);
  return { storage: [...snapshot.storage.values()], rejected };
}
