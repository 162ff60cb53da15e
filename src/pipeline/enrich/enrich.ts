// Enrich phase: the few facts an operation needs from the array itself (pool names, the volumes it
// touches), fetched by the adapter with the array's own credentials. A lookup that fails denies
// (fail closed): without it neither quota nor ownership can be checked.
import { ArrayLookupError, type ArrayAdapter, type Operation, type VolumeInfo } from '../../arrays/types.js';
import type { ArrayCredentials, StorageSystem } from '../../resources/types.js';
import { reject, type Rejection } from '../response/deny.js';

export type Enriched =
  | { kind: 'none' }
  | { kind: 'pool'; poolName: string }
  | { kind: 'volume'; volume: VolumeInfo }
  /** Snapshot sources, in request order. */
  | { kind: 'volumes'; volumes: VolumeInfo[] };

export async function enrich(
  adapter: ArrayAdapter,
  system: StorageSystem,
  credentials: ArrayCredentials,
  operation: Operation,
): Promise<Enriched | Rejection> {
  try {
    switch (operation.kind) {
      case 'volume-create':
        return { kind: 'pool', poolName: await adapter.poolName(system, credentials, operation.poolId) };
      case 'volume-delete':
      case 'volume-map':
      case 'volume-unmap':
        return { kind: 'volume', volume: await adapter.volume(system, credentials, operation.volumeId) };
      case 'snapshot-create': {
        const volumes = await Promise.all(operation.snapshots.map((s) => adapter.volume(system, credentials, s.volumeId)));
        return { kind: 'volumes', volumes };
      }
      default:
        return { kind: 'none' };
    }
  } catch (error) {
    if (error instanceof ArrayLookupError) return reject(error.status, 'array-lookup', error.message);
    const message = error instanceof Error ? error.message : String(error);
    return reject(502, 'array-unreachable', `array lookup failed: ${message}`);
  }
}
