// Response phase, allow side (pure): what Envoy changes on the request it forwards to the array.
import { sessionTag } from '../../arrays/sessionTag.js';
import type { Classified } from '../../arrays/types.js';
import { ROUTING_HEADER, storageClusterName } from '../../envoy/routing.js';
import type { StorageSystem } from '../../resources/types.js';
import { METADATA } from '../metadata.js';
import type { Allow, HeaderSet, RequestView } from '../types.js';

// The tenant's credentials and routing hints never reach an array (DESIGN.md §5). `authorization`
// is normally overwritten by the array's own credentials; it is removed when an adapter sets none.
const TENANT_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-csrf-token', 'forwarded'];
const FORWARDING_PREFIX = 'x-forwarded-';

export interface AllowInput {
  request: RequestView;
  system: StorageSystem;
  classified: Classified;
  /** The array's credential headers (adapter.authorize). */
  credentialHeaders: readonly HeaderSet[];
  strippedHeaders: readonly string[];
  metadata: Record<string, string>;
}

export function allowDecision({ request, system, classified, credentialHeaders, strippedHeaders, metadata }: AllowInput): Allow {
  const setHeaders: HeaderSet[] = [...credentialHeaders, { name: ROUTING_HEADER, value: storageClusterName(system) }];
  // The array executes the path that was classified, never the spelling the tenant sent.
  if (classified.path !== request.path) setHeaders.push({ name: ':path', value: classified.path });
  const set = new Set(setHeaders.map((header) => header.name.toLowerCase()));
  const remove = new Set([...TENANT_HEADERS, ...strippedHeaders.map((name) => name.toLowerCase())]);
  // x-forwarded-proto stays: the edge Envoy sets it itself (use_remote_address), and its route
  // matching finds no route at all without it (every request would be a 404).
  for (const name of Object.keys(request.headers)) if (name.startsWith(FORWARDING_PREFIX) && name !== 'x-forwarded-proto') remove.add(name);
  // Envoy applies removals after the sets: a header that is set must not also be removed.
  const removeHeaders = [...remove].filter((name) => !set.has(name));
  // If the array refuses these credentials, the access log brings the tag back and the adapter renews its session.
  const tagged = credentialHeaders.length > 0 ? { ...metadata, [METADATA.sessionTag]: sessionTag(credentialHeaders) } : metadata;
  return { kind: 'allow', setHeaders, removeHeaders, metadata: tagged };
}
