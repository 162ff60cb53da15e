// Response phase, allow side (pure): what Envoy changes on the request it forwards to the array.
import { sessionTag } from '../../arrays/sessionTag.js';
import type { Classified } from '../../arrays/types.js';
import { ROUTING_HEADER, storageClusterName } from '../../envoy/routing.js';
import type { StorageSystem } from '../../resources/types.js';
import { METADATA } from '../metadata.js';
import type { Allow, HeaderSet, RequestView } from '../types.js';

// An allow-list, not a deny-list: the array receives only the headers its API needs (the adapter's
// `forwardedHeaders`), those Envoy itself needs, and the ones the decision sets. Everything else a
// tenant sent is removed — its token and cookies, `Forwarded`, and whatever an array or a servlet
// filter in front of it might honour (`X-Original-URL`, `X-HTTP-Method-Override`, `X-Real-IP`, …),
// including headers nobody has thought of yet.
const ENVOY_HEADERS = [
  // The body's framing, as Envoy forwards it.
  'content-length',
  'transfer-encoding',
  // The edge's route matching finds no route at all without it (Envoy sets it: use_remote_address).
  'x-forwarded-proto',
  // Correlates the array's logs with Envoy's and ours.
  'x-request-id',
];

/** `host` and the pseudo-headers (`:path`, `:authority`, …) are Envoy's; ext_authz may not remove them. */
const isEnvoyOwned = (name: string): boolean => name.startsWith(':') || name === 'host';

export interface AllowInput {
  request: RequestView;
  system: StorageSystem;
  classified: Classified;
  /** The array's credential headers (adapter.authorize). */
  credentialHeaders: readonly HeaderSet[];
  /** Request headers the array's API needs (adapter.forwardedHeaders). */
  forwardedHeaders: readonly string[];
  metadata: Record<string, string>;
}

export function allowDecision({ request, system, classified, credentialHeaders, forwardedHeaders, metadata }: AllowInput): Allow {
  const setHeaders: HeaderSet[] = [...credentialHeaders, { name: ROUTING_HEADER, value: storageClusterName(system) }];
  // The array executes the path that was classified, never the spelling the tenant sent.
  if (classified.path !== request.path) setHeaders.push({ name: ':path', value: classified.path });
  // Envoy applies removals after the sets: a header that is set must not also be removed.
  const kept = new Set([...ENVOY_HEADERS, ...forwardedHeaders.map((name) => name.toLowerCase()), ...setHeaders.map((header) => header.name.toLowerCase())]);
  const removeHeaders = Object.keys(request.headers).filter((name) => !kept.has(name) && !isEnvoyOwned(name));
  // If the array refuses these credentials, the access log brings the tag back and the adapter renews its session.
  const tagged = credentialHeaders.length > 0 ? { ...metadata, [METADATA.sessionTag]: sessionTag(credentialHeaders) } : metadata;
  return { kind: 'allow', setHeaders, removeHeaders, metadata: tagged };
}
