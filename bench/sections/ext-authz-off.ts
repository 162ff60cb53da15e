// The "ext_authz off" twin of an Envoy bootstrap: identical listeners, TLS, clusters and access log,
// with the ext_authz filter disabled on every route (per-route `disabled: true`), so the difference
// between the two is the authorization hop and nothing else.
import type { EnvoyObject } from '../../src/envoy/parts.js';

const EXT_AUTHZ = 'envoy.filters.http.ext_authz';
const DISABLED = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute', disabled: true };

type Json = Record<string, unknown>;
const objects = (value: unknown): Json[] => (Array.isArray(value) ? (value.filter((v) => typeof v === 'object' && v !== null) as Json[]) : []);
const object = (value: unknown): Json | undefined => (typeof value === 'object' && value !== null ? (value as Json) : undefined);

export function withExtAuthzDisabled(bootstrap: EnvoyObject): EnvoyObject {
  const copy = structuredClone(bootstrap) as Json;
  let routes = 0;
  for (const listener of objects(object(copy['static_resources'])?.['listeners'])) {
    for (const chain of objects(listener['filter_chains'])) {
      for (const filter of objects(chain['filters'])) {
        const routeConfig = object(object(filter['typed_config'])?.['route_config']);
        for (const host of objects(routeConfig?.['virtual_hosts'])) {
          for (const route of objects(host['routes'])) {
            route['typed_per_filter_config'] = { ...object(route['typed_per_filter_config']), [EXT_AUTHZ]: DISABLED };
            routes++;
          }
        }
      }
    }
  }
  if (routes === 0) throw new Error('no static routes found to disable ext_authz on');
  return copy;
}
