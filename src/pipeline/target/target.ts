// Target phase, part 2: which array adapter and which configured Storage a request is for.
import type { AdapterRegistry } from '../../arrays/registry.js';
import type { ArrayAdapter } from '../../arrays/types.js';
import { storageKey, type ResourceSnapshot, type StorageSystem } from '../../resources/types.js';
import { reject, type Rejection } from '../response/deny.js';
import { parseForwarded, type ForwardedTarget } from './forwarded.js';

export interface ArrayTarget {
  forwarded: ForwardedTarget;
  adapter: ArrayAdapter;
}

const FORWARDED_EXPECTED = 'expected Forwarded: by=csm-authorization;<plugin>, for=csm-authorization;<endpoint>;<systemID>';

/** The Forwarded header → the adapter of its array type (before identity, so that errors use the array's shape). */
export function resolveArray(forwardedHeader: string | undefined, adapters: AdapterRegistry): ArrayTarget | Rejection {
  const forwarded = parseForwarded(forwardedHeader);
  if (!forwarded) return reject(400, 'missing-forwarded', `missing Forwarded header: ${FORWARDED_EXPECTED}`);
  if (!forwarded.systemType) return reject(502, 'unknown-plugin', `plugin id not found: "${forwarded.plugin}"`);
  const adapter = adapters.get(forwarded.systemType);
  if (!adapter) return reject(502, 'unsupported-array-type', `array type not supported: ${forwarded.systemType}`);
  return { forwarded, adapter };
}

/** The configured Storage, chosen by (type, systemID) only: the endpoint a tenant names is never trusted. */
export function findSystem(resources: ResourceSnapshot, target: ArrayTarget): StorageSystem | Rejection {
  const { systemID } = target.forwarded;
  const system = systemID ? resources.storage.get(storageKey(target.adapter.type, systemID)) : undefined;
  return system ?? reject(502, 'unknown-system', `system id not found: "${systemID}"`);
}
