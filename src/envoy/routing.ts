// How the decision tells the edge Envoy which array to forward to: the allow response sets a
// routing header, and the edge route picks the cluster named in it (`cluster_header`).
import type { StorageSystem } from '../resources/types.js';

export const ROUTING_HEADER = 'x-storage-authz-cluster';

/**
 * The edge cluster of a Storage object. Kubernetes names are DNS labels already; anything else is
 * replaced so the name stays a plain Envoy cluster name (no '|' or '/', see the :authority trap).
 */
export function storageClusterName(system: Pick<StorageSystem, 'name'>): string {
  return `storage-${system.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}
