// The edge Envoy's bootstrap, rendered from the configured Storage objects (pure): TLS for the
// sidecars, ext_authz (with the request body) to the decision service, one cluster per Storage
// chosen by the routing header of the allow response, the admin API for /proxy/, and the access-log
// stream that confirms reservations and reports array sessions the array refused.
import { ERROR_BODIES } from '../arrays/errorBodies.js';
import { CLIENT_HEADERS, DENY_STATUS_KEY, HEALTH_PATH, HEALTHY_STATUS, MAPPED_DENY_STATUSES, METADATA_HEADERS, PATH_HEADER, UPSTREAM_HEADERS } from '../check/httpContract.js';
import { METADATA } from '../pipeline/metadata.js';
import { storageKey, type StorageSystem } from '../resources/types.js';
import { downstreamTls, envoyAddress, HTTP2_PROTOCOL_OPTIONS, ROUTER_FILTER, singleHostCluster, socketAddress, upstreamTls, type EnvoyObject } from './parts.js';
import { ROUTING_HEADER, storageClusterName } from './routing.js';

export const AUTHZ_CLUSTER = 'storage-authz';
/** How long the edge waits for a decision unless told otherwise (render-edge-config --authz-timeout-ms). */
export const DEFAULT_AUTHZ_TIMEOUT_MS = 500;
/** The tenant listener's HTTP statistics are `http.<this>.…` (drain.ts reads its requests in flight). */
export const EDGE_STAT_PREFIX = 'edge';
/** serve's HTTP check server, when ext_authz asks over http_service. */
export const AUTHZ_HTTP_CLUSTER = 'storage-authz-http';
/** Volume operations on an array can take long; the driver has its own timeouts. serve derives when to settle holds from it. */
export const DEFAULT_ROUTE_TIMEOUT_MS = 120_000;
/** Fixed `:authority` for Check calls: the default (the cluster name) is not safe for every name. */
const AUTHZ_AUTHORITY = 'storage-authz';
const ADMIN_API_CLUSTER = 'storage-authz-admin';
const ACCESS_LOG_NAME = 'storage-authz-edge';
const ENVOY_ADMIN_CLUSTER = 'envoy-admin';
/** Envoy's Prometheus exposition on its admin interface, the only path the stats listener serves. */
export const ENVOY_STATS_PATH = '/stats/prometheus';
/** What an array at its concurrency limit tells the driver: try again in a second (a slot frees as soon as one request ends). */
export const OVERFLOW_RETRY_AFTER_SECONDS = 1;

/** Debian's system CA bundle: array certificates are verified against it unless a caFile is given. */
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/**
 * Request bodies Envoy buffers for the Check. Driver calls are small JSON documents (a PowerFlex
 * create is ~200 bytes; snapshotVolumes grows ~100 bytes per volume), so 64 KiB is two orders of
 * magnitude of headroom. Bigger bodies get 413 before any Check (allow_partial_message: false):
 * a body the service has not seen entirely is never forwarded.
 */
const MAX_REQUEST_BYTES = 65536;

export interface EdgeConfigInput {
  listen: { address: string; port: number };
  tls: { certFile: string; keyFile: string };
  /**
   * The decision service: `address` its gRPC server (Check, health, the access log), `httpAddress`
   * its HTTP check server (serve --http-check-listen): when given, ext_authz asks there over HTTP/1.1.
   * Each is `host:port` or `unix:/path`.
   */
  authz: { address: string; httpAddress?: string };
  /** The admin HTTP API (`host:port`), served under /proxy/ with ext_authz off. */
  adminApi?: { address: string };
  /** Envoy's own admin interface (keep it on loopback). */
  envoyAdmin?: { address: string; port: number };
  /**
   * A listener serving only `GET /stats/prometheus` from the admin interface (needs `envoyAdmin`):
   * Envoy's own counters for Prometheus — the circuit breakers of each array's cluster among them —
   * without exposing the rest of the admin API.
   */
  envoyStats?: { address: string; port: number };
  storage: readonly StorageSystem[];
  /** CA bundle for array certificates (default: the system bundle). */
  caFile?: string;
  /** Check deadline; the service answers within it or Envoy answers 503. */
  authzTimeoutMs?: number;
  /** How long a request may run on an array before Envoy answers 504 (serve's --route-timeout-ms must match). */
  routeTimeoutMs?: number;
  accessLog?: boolean;
}

export function renderEdgeConfig(input: EdgeConfigInput): EnvoyObject {
  const clusters = [authzCluster(input.authz.address), ...(input.authz.httpAddress ? [authzHttpCluster(input.authz.httpAddress)] : []), ...input.storage.map((system) => storageCluster(system, input.caFile ?? SYSTEM_CA_BUNDLE))];
  if (input.adminApi) clusters.push(singleHostCluster(ADMIN_API_CLUSTER, envoyAddress(input.adminApi.address)));
  const listeners = [edgeListener(input)];
  if (input.envoyStats) {
    if (!input.envoyAdmin) throw new Error('the Envoy stats listener serves the admin interface: give envoyAdmin too');
    listeners.push(statsListener(input.envoyStats));
    clusters.push(singleHostCluster(ENVOY_ADMIN_CLUSTER, socketAddress(input.envoyAdmin.address, input.envoyAdmin.port)));
  }
  return {
    ...(input.envoyAdmin && { admin: { address: socketAddress(input.envoyAdmin.address, input.envoyAdmin.port) } }),
    static_resources: { listeners, clusters },
  };
}

/** Plain HTTP, `GET /stats/prometheus` only (Istio's prometheus_stats pattern); anything else is a 404 from Envoy. */
function statsListener(listen: { address: string; port: number }): EnvoyObject {
  return {
    name: 'envoy-stats',
    address: socketAddress(listen.address, listen.port),
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'envoy_stats',
              codec_type: 'AUTO',
              route_config: {
                name: 'envoy-stats',
                virtual_hosts: [
                  {
                    name: 'envoy-stats',
                    domains: ['*'],
                    routes: [
                      { match: { path: ENVOY_STATS_PATH, headers: [{ name: ':method', string_match: { exact: 'GET' } }] }, route: { cluster: ENVOY_ADMIN_CLUSTER } },
                      { match: { prefix: '/' }, direct_response: { status: 404 } },
                    ],
                  },
                ],
              },
              http_filters: [ROUTER_FILTER],
            },
          },
        ],
      },
    ],
  };
}

function edgeListener(input: EdgeConfigInput): EnvoyObject {
  const grpcService = { envoy_grpc: { cluster_name: AUTHZ_CLUSTER, authority: AUTHZ_AUTHORITY } };
  const routes: EnvoyObject[] = [];
  if (input.adminApi) {
    // The admin API authenticates its own callers (admin tokens, refresh tokens); no array behind it.
    routes.push({
      match: { prefix: '/proxy/' },
      route: { cluster: ADMIN_API_CLUSTER },
      typed_per_filter_config: {
        'envoy.filters.http.ext_authz': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute', disabled: true },
        // A tenant's own PATH_HEADER must not steer a request that no allow overwrote it on.
        ...(input.authz.httpAddress && { [PATH_FILTER_NAME]: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute', disabled: true } }),
      },
    });
  }
  routes.push({
    match: { prefix: '/' },
    route: {
      // Set by the allow response only; a request that was not allowed never gets here.
      cluster_header: ROUTING_HEADER,
      // The array sees its own host name, not the sidecar's.
      auto_host_rewrite: true,
      timeout: `${(input.routeTimeoutMs ?? DEFAULT_ROUTE_TIMEOUT_MS) / 1000}s`,
    },
    // Routing is internal: the array never sees which cluster name was chosen.
    request_headers_to_remove: [ROUTING_HEADER],
  });
  return {
    name: 'edge',
    address: socketAddress(input.listen.address, input.listen.port),
    filter_chains: [
      {
        transport_socket: downstreamTls({
          tls_certificates: [{ certificate_chain: { filename: input.tls.certFile }, private_key: { filename: input.tls.keyFile } }],
        }),
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: EDGE_STAT_PREFIX,
              codec_type: 'AUTO',
              use_remote_address: true,
              // Dot segments and '//' resolved before routing, so /proxy/ cannot be reached around ext_authz.
              normalize_path: true,
              merge_slashes: true,
              // Every answer, denials included, names its request id: the decision id a tenant hands to
              // the admin for `authzctl why-denied` (the same id the access log and the audit record carry).
              always_set_request_id_in_response: true,
              route_config: { name: 'edge', virtual_hosts: [{ name: 'edge', domains: ['*'], routes }] },
              local_reply_config: { mappers: [...(input.authz.httpAddress ? MAPPED_DENY_STATUSES.map(deniedStatusReply) : []), ...input.storage.map(overflowReply)] },
              http_filters: input.authz.httpAddress
                ? [extAuthzFilter({ http_service: httpService(input.authzTimeoutMs ?? DEFAULT_AUTHZ_TIMEOUT_MS) }), PATH_FILTER, ROUTER_FILTER]
                : [extAuthzFilter({ grpc_service: { ...grpcService, timeout: `${(input.authzTimeoutMs ?? DEFAULT_AUTHZ_TIMEOUT_MS) / 1000}s` } }), ROUTER_FILTER],
              ...(input.accessLog !== false && { access_log: [accessLog(grpcService)] }),
            },
          },
        ],
      },
    ],
  };
}

/** `service`: `grpc_service` (the Check) or `http_service` (serve's HTTP check server). */
function extAuthzFilter(service: EnvoyObject): EnvoyObject {
  return {
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
      transport_api_version: 'V3',
      ...service,
      // Fail closed: an unreachable or failing service is a 503, never an allow (and not a 403).
      failure_mode_allow: false,
      status_on_error: { code: 'ServiceUnavailable' },
      // pack_as_bytes is the gRPC Check's (raw_body); http_service sends the body as it came.
      with_request_body: { max_request_bytes: MAX_REQUEST_BYTES, allow_partial_message: false, ...('grpc_service' in service && { pack_as_bytes: true }) },
      // The routing header (and :path) arrive with the allow, after the route was first matched.
      // Safe here: no filter after ext_authz changes the headers routing reads (the HTTP path filter
      // sets :path to the path the route was matched with, normalised, and never re-routes).
      clear_route_cache: true,
      validate_mutations: true,
      // http_service sends only the headers named here; the service needs all of them (its
      // allow-list of forwarded headers removes the rest). The gRPC Check sends all by default.
      ...('http_service' in service && { allowed_headers: { patterns: [{ safe_regex: { regex: '.*' } }] } }),
    },
  };
}

const exactly = (names: readonly string[]): EnvoyObject => ({ patterns: names.map((exact) => ({ exact })) });

/** ext_authz over HTTP/1.1: the answer's headers are the allow's sets, removals and metadata, each named (check/httpContract.ts). */
function httpService(timeoutMs: number): EnvoyObject {
  return {
    server_uri: { uri: `http://${AUTHZ_AUTHORITY}`, cluster: AUTHZ_HTTP_CLUSTER, timeout: `${timeoutMs / 1000}s` },
    authorization_response: {
      allowed_upstream_headers: exactly(UPSTREAM_HEADERS),
      allowed_client_headers: exactly(CLIENT_HEADERS),
      dynamic_metadata_from_headers: exactly(METADATA_HEADERS),
    },
  };
}

const PATH_FILTER_NAME = 'storage-authz.path';

/**
 * ext_authz over HTTP cannot set `:path`, and Envoy's header_mutation refuses pseudo-headers: this
 * Lua filter moves the allow's PATH_HEADER (set on every allow, so a tenant's own is overwritten)
 * into `:path`, so the array executes the path that was classified, as with the gRPC Check.
 */
const PATH_FILTER: EnvoyObject = {
  name: PATH_FILTER_NAME,
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua',
    default_source_code: {
      inline_string: [
        'function envoy_on_request(handle)',
        '  local headers = handle:headers()',
        `  local path = headers:get("${PATH_HEADER}")`,
        '  if path ~= nil then',
        '    headers:replace(":path", path)',
        `    headers:remove("${PATH_HEADER}")`,
        '  end',
        'end',
      ].join('\n'),
    },
  },
};

/**
 * http_service turns a 2xx answer into an allow and a 5xx into an error, so the service answers
 * those denials (a driver's login, 502, 503, 507) as a 403 naming the status in metadata; this
 * mapper restores it, body and headers unchanged.
 */
function deniedStatusReply(status: number): EnvoyObject {
  return {
    // match_if_key_not_found defaults to true: without false every local reply would match the first mapper.
    filter: {
      metadata_filter: {
        matcher: { filter: 'envoy.filters.http.ext_authz', path: [{ key: DENY_STATUS_KEY }], value: { string_match: { exact: String(status) } } },
        match_if_key_not_found: false,
      },
    },
    status_code: status,
  };
}

// match_if_key_not_found must be false: unset, Envoy logs every request that lacks the key
// (accesslog.proto: "if unset or true, then log"), and every read crossed the stream.
const hasMetadata = (key: string): EnvoyObject => ({
  metadata_filter: { matcher: { filter: 'envoy.filters.http.ext_authz', path: [{ key }], value: { present_match: true } }, match_if_key_not_found: false },
});

/**
 * Logs only what the service acts on: requests whose Check held something to confirm, and allowed
 * requests the array answered 401 (it forgot the session the allow attached: renew it now). Other
 * reads and the service's own denials (a 401 for a bad tenant token has no session tag) never cross
 * the stream.
 */
const SERVICE_ACTS_ON = {
  or_filter: {
    filters: [
      hasMetadata(METADATA.holds),
      hasMetadata(METADATA.hints),
      {
        and_filter: {
          filters: [
            // Envoy requires a runtime key; the bootstrap has no runtime layer, so 401 is what applies.
            { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 401, runtime_key: 'storage_authz.refused_session_status' } } } },
            hasMetadata(METADATA.sessionTag),
          ],
        },
      },
    ],
  },
};

function accessLog(grpcService: EnvoyObject): EnvoyObject {
  return {
    name: 'envoy.access_loggers.http_grpc',
    filter: SERVICE_ACTS_ON,
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig',
      common_config: {
        log_name: ACCESS_LOG_NAME,
        transport_api_version: 'V3',
        grpc_service: grpcService,
        // Reservations and refused sessions wait for this stream: flush often so capacity is committed
        // or freed, and a dead array session renewed, quickly.
        buffer_flush_interval: '0.1s',
      },
    },
  };
}

/**
 * serve's HTTP check server (HTTP/1.1: a gRPC health check needs an HTTP/2 cluster), checked on its
 * own health path, so a loading or draining service gets no checks over HTTP either.
 */
function authzHttpCluster(address: string): EnvoyObject {
  return {
    ...singleHostCluster(AUTHZ_HTTP_CLUSTER, envoyAddress(address)),
    connect_timeout: '1s',
    health_checks: [{ ...AUTHZ_HEALTH_TIMING, http_health_check: { path: HEALTH_PATH, expected_statuses: [{ start: HEALTHY_STATUS, end: HEALTHY_STATUS + 1 }] } }],
    common_lb_config: NO_PANIC_ROUTING,
  };
}

const AUTHZ_HEALTH_TIMING = {
  timeout: '1s',
  interval: '1s',
  // Envoy checks a cluster it considers idle only every 60 s by default; Check traffic does not
  // always count, and a draining service must be noticed well within serve's --drain-ms (10 s).
  no_traffic_interval: '1s',
  // Three misses, not one: with no panic routing a single health answer slower than the timeout
  // (a loaded node, a GC pause) turned every Check into a 503 for a second. A draining service
  // is still taken out within about 3 s.
  unhealthy_threshold: 3,
  healthy_threshold: 1,
};
// No panic routing: a NOT_SERVING (loading or draining) service gets no Checks; Envoy answers 503.
const NO_PANIC_ROUTING = { healthy_panic_threshold: { value: 0 } };

function authzCluster(address: string): EnvoyObject {
  return {
    ...singleHostCluster(AUTHZ_CLUSTER, envoyAddress(address)),
    connect_timeout: '1s',
    typed_extension_protocol_options: HTTP2_PROTOCOL_OPTIONS,
    health_checks: [{ ...AUTHZ_HEALTH_TIMING, grpc_health_check: { service_name: '', authority: AUTHZ_AUTHORITY } }],
    common_lb_config: NO_PANIC_ROUTING,
  };
}

/**
 * An array's cluster at its circuit-breaker limit makes the router answer 503 itself, flagged UO
 * (upstream overflow): this mapper, matched on that flag and on the system the allow named in its
 * metadata, gives the answer the array's own error shape and a Retry-After, as the array would.
 */
function overflowReply(system: StorageSystem): EnvoyObject {
  const limit = system.maxConcurrentRequests === undefined ? '' : ` of ${system.maxConcurrentRequests}`;
  const message = `storage "${system.name}" is at its limit${limit} concurrent requests; retry after ${OVERFLOW_RETRY_AFTER_SECONDS} s`;
  const { contentType, body } = ERROR_BODIES[system.type](503, message);
  return {
    filter: {
      and_filter: {
        filters: [
          { response_flag_filter: { flags: ['UO'] } },
          { metadata_filter: { matcher: { filter: 'envoy.filters.http.ext_authz', path: [{ key: METADATA.system }], value: { string_match: { exact: storageKey(system.type, system.systemID) } } } } },
        ],
      },
    },
    status_code: 503,
    body: { inline_string: body },
    // The default format would wrap the body in text/plain; the driver parses the array's JSON.
    body_format_override: { text_format_source: { inline_string: '%LOCAL_REPLY_BODY%' }, content_type: contentType },
    headers_to_add: [{ header: { key: 'retry-after', value: String(OVERFLOW_RETRY_AFTER_SECONDS) }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
  };
}

/**
 * `maxConcurrentRequests` bounds the requests in flight to the array (max_requests). As many again
 * may wait for a connection (HTTP/1.1 needs one per request; with 0 allowed to wait, the first
 * requests after a start would overflow), only as long as a new one takes to open: then each is sent
 * if a slot is free and overflows if not (Envoy's upstream_rq_active_overflow). No retries are
 * configured, so max_retries does not apply. Unset: Envoy's defaults (1024 each).
 */
function circuitBreakers(limit: number): EnvoyObject {
  return { thresholds: [{ priority: 'DEFAULT', max_requests: limit, max_pending_requests: limit, track_remaining: true }] };
}

function storageCluster(system: StorageSystem, caFile: string): EnvoyObject {
  const url = new URL(system.endpoint);
  if (url.protocol !== 'https:') throw new Error(`Storage "${system.name}": endpoint ${system.endpoint} must be https://`);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : 443;
  return {
    ...singleHostCluster(storageClusterName(system), socketAddress(hostname, port), hostname),
    transport_socket: upstreamTls(hostname, system.skipCertificateValidation ? { kind: 'insecure' } : { kind: 'ca-bundle', caFile }),
    ...(system.maxConcurrentRequests !== undefined && { circuit_breakers: circuitBreakers(system.maxConcurrentRequests) }),
  };
}

