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

/** Per adapter registry, by Forwarded value: a driver sends the same one on every request. */
const resolved = new WeakMap<AdapterRegistry, Map<string, ArrayTarget | Rejection>>();
/** Tenants choose the values they send: the cache is emptied, not grown, past this many. */
const RESOLVED_VALUES = 1024;

/**
 * The Forwarded header → the adapter of its array type (before identity, so that errors use the
 * array's shape). Resolved once per distinct value (resolving it on every request was about 2% of a read's CPU);
 * the results are shared, never changed by their readers.
 */
export function resolveArray(forwardedHeader: string | undefined, adapters: AdapterRegistry): ArrayTarget | Rejection {
  if (!forwardedHeader) return resolve(forwardedHeader, adapters);
  let cache = resolved.get(adapters);
  if (!cache) resolved.set(adapters, (cache = new Map()));
  const known = cache.get(forwardedHeader);
  if (known) return known;
  const target = resolve(forwardedHeader, adapters);
  if (cache.size >= RESOLVED_VALUES) cache.clear();
  cache.set(forwardedHeader, target);
  return target;
}

function resolve(forwardedHeader: string | undefined, adapters: AdapterRegistry): ArrayTarget | Rejection {
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
