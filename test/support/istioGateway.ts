// The Envoy configuration istiod gives an ingress gateway for the chart's Istio objects (edge.mode=
// istio) and the mesh config the README documents: what Istio generates, translated here by hand
// from Istio's own builders (pilot/pkg/security/authz/builder: the shadow RBAC filter + ext_authz
// enabled by its metadata; extauthz.go: the gRPC service, authority with '|' replaced, body
// buffering), since istiod itself cannot run here. Only the parts the flow depends on are rendered; Istio's own stats
// and peer-metadata filters are left out.
import type { EnvoyObject } from '../../src/envoy/parts.js';
import { downstreamTls, HTTP2_PROTOCOL_OPTIONS, ROUTER_FILTER, singleHostCluster, socketAddress, upstreamTls } from '../../src/envoy/parts.js';

/** `extensionProviders` entries as the README's meshConfig gives them. */
export interface MeshProviders {
  extAuthz: {
    name: string;
    service: string;
    port: number;
    timeoutMs: number;
    failOpen: boolean;
    clearRouteCache: boolean;
    statusOnError: string;
    includeRequestBodyInCheck: { maxRequestBytes: number; allowPartialMessage: boolean; packAsBytes: boolean };
  };
}

interface KubeObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown>;
}

export interface IstioGatewayInput {
  /** The chart's rendered objects (AuthorizationPolicy, VirtualService, DestinationRule …). */
  objects: KubeObject[];
  mesh: MeshProviders;
  listen: { port: number; certFile: string; keyFile: string };
  /** Where each mesh host:port really is on this machine (the service's ports, the fake array). */
  endpoints: Record<string, { address: string; port: number }>;
  /** CA for the DestinationRules' TLS origination (credentialName's ca.crt). */
  arrayCaFile: string;
}

/** Istio's outbound cluster name: `outbound|<port>||<host>`. */
export const outboundCluster = (host: string, port: number): string => `outbound|${port}||${host}`;

const SHADOW_PREFIX = 'istio_ext_authz_';

export function renderIstioGateway(input: IstioGatewayInput): EnvoyObject {
  const policy = only(input.objects, 'AuthorizationPolicy');
  const virtualService = only(input.objects, 'VirtualService');
  const { extAuthz } = input.mesh;
  if ((policy.spec.provider as { name: string }).name !== extAuthz.name) throw new Error('AuthorizationPolicy names another provider');

  const extAuthzCluster = outboundCluster(extAuthz.service, extAuthz.port);
  const routes = (virtualService.spec.http as HttpRoute[]).map(translateRoute);
  const destinations = new Map<string, { host: string; port: number }>();
  for (const route of virtualService.spec.http as HttpRoute[]) for (const { destination } of route.route ?? []) destinations.set(outboundCluster(destination.host, destination.port.number), { host: destination.host, port: destination.port.number });
  destinations.set(extAuthzCluster, { host: extAuthz.service, port: extAuthz.port });

  const tlsHosts = new Map(input.objects.filter((o) => o.kind === 'DestinationRule').map((rule) => [String(rule.spec.host), (rule.spec.trafficPolicy as { tls: { mode: string; sni: string } }).tls]));
  const clusters = [...destinations].map(([name, { host, port }]) => {
    const endpoint = input.endpoints[`${host}:${port}`];
    if (!endpoint) throw new Error(`no endpoint given for ${host}:${port}`);
    const cluster: EnvoyObject = singleHostCluster(name, socketAddress(endpoint.address, endpoint.port));
    if (port === extAuthz.port) cluster.typed_extension_protocol_options = HTTP2_PROTOCOL_OPTIONS;
    const tls = tlsHosts.get(host);
    if (tls?.mode === 'SIMPLE') cluster.transport_socket = upstreamTls(tls.sni, { kind: 'ca-bundle', caFile: input.arrayCaFile });
    return cluster;
  });

  const rules = (policy.spec.rules as PolicyRule[]).map((rule, index) => [
    `istio-ext-authz-ns[${policy.metadata.namespace}]-policy[${policy.metadata.name}]-rule[${index}]`,
    { permissions: [translatePermission(rule)], principals: [{ and_ids: { ids: [{ any: true }] } }] },
  ]);
  const httpFilters = [
    {
      name: 'envoy.filters.http.rbac',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
        shadow_rules: { action: 'DENY', policies: Object.fromEntries(rules) },
        shadow_rules_stat_prefix: SHADOW_PREFIX,
      },
    },
    {
      name: 'envoy.filters.http.ext_authz',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
        status_on_error: { code: Number(extAuthz.statusOnError) },
        failure_mode_allow: extAuthz.failOpen,
        clear_route_cache: extAuthz.clearRouteCache,
        grpc_service: {
          envoy_grpc: { cluster_name: extAuthzCluster, authority: extAuthzCluster.replaceAll('|', '_.') },
          timeout: `${extAuthz.timeoutMs / 1000}s`,
        },
        filter_enabled_metadata: {
          filter: 'envoy.filters.http.rbac',
          path: [{ key: `${SHADOW_PREFIX}shadow_effective_policy_id` }],
          value: { string_match: { prefix: 'istio-ext-authz' } },
        },
        transport_api_version: 'V3',
        with_request_body: {
          max_request_bytes: extAuthz.includeRequestBodyInCheck.maxRequestBytes,
          allow_partial_message: extAuthz.includeRequestBodyInCheck.allowPartialMessage,
          pack_as_bytes: extAuthz.includeRequestBodyInCheck.packAsBytes,
        },
      },
    },
    ROUTER_FILTER,
  ];
  return {
    static_resources: {
      listeners: [
        {
          name: `0.0.0.0_${input.listen.port}`,
          address: socketAddress('127.0.0.1', input.listen.port),
          filter_chains: [
            {
              transport_socket: downstreamTls({ tls_certificates: [{ certificate_chain: { filename: input.listen.certFile }, private_key: { filename: input.listen.keyFile } }] }),
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'outbound_0.0.0.0_443',
                    use_remote_address: true,
                    normalize_path: true,
                    merge_slashes: true,
                    route_config: { name: 'https.443', virtual_hosts: [{ name: '*:443', domains: ['*'], routes }] },
                    http_filters: httpFilters,
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters,
    },
  };
}

interface HttpRoute {
  name: string;
  directResponse?: { status: number; body?: { string: string } };
  match?: { uri?: { prefix: string }; headers?: Record<string, { exact: string }> }[];
  rewrite?: { authority: string };
  headers?: { request?: { remove?: string[] } };
  timeout?: string;
  route?: { destination: { host: string; port: { number: number } } }[];
}

interface PolicyRule {
  to?: { operation: { notPaths?: string[] } }[];
}

function only(objects: KubeObject[], kind: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
}

/** A VirtualService http route as Istio renders it (one match, one destination in the chart). */
function translateRoute(route: HttpRoute): EnvoyObject {
  const match = route.match?.[0];
  const envoyMatch = {
    prefix: match?.uri?.prefix ?? '/',
    ...(match?.headers && { headers: Object.entries(match.headers).map(([name, value]) => ({ name, string_match: { exact: value.exact } })) }),
  };
  if (route.directResponse) {
    return { name: route.name, match: envoyMatch, direct_response: { status: route.directResponse.status, ...(route.directResponse.body && { body: { inline_string: route.directResponse.body.string } }) } };
  }
  const destination = route.route?.[0]?.destination;
  if (!destination) throw new Error(`route ${route.name} has neither a destination nor a direct response`);
  return {
    name: route.name,
    match: envoyMatch,
    route: {
      cluster: outboundCluster(destination.host, destination.port.number),
      // Istio's default: no route timeout unless the VirtualService sets one.
      timeout: route.timeout ? `${Number.parseInt(route.timeout, 10) / 1000}s` : '0s',
      ...(route.rewrite && { host_rewrite_literal: route.rewrite.authority }),
    },
    ...(route.headers?.request?.remove && { request_headers_to_remove: route.headers.request.remove }),
  };
}

/** `to.operation.notPaths: ["/x/*"]` → Istio's not-rule over url_path prefix matches. */
function translatePermission(rule: PolicyRule): EnvoyObject {
  const notPaths = rule.to?.flatMap((to) => to.operation.notPaths ?? []) ?? [];
  if (notPaths.length === 0) return { any: true };
  const paths = notPaths.map((p) => ({ url_path: { path: p.endsWith('*') ? { prefix: p.slice(0, -1) } : { exact: p } } }));
  return { and_rules: { rules: [{ not_rule: { or_rules: { rules: paths } } }] } };
}
