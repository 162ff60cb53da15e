// The sidecar Envoy's bootstrap, rendered from the sidecar configuration (pure). Envoy does all of
// it — TLS towards the driver, the two Dell `Forwarded` values, Host, the bearer token from a file
// SDS secret (credential_injector), the driver's placeholder credentials removed, HTTPS to the edge.
// The sidecar process's Check (ext_authz over a unix socket) runs only while the runtime switch
// written by tokenFeed.ts says so: around a token's expiry, when a request may have to wait for the
// refresh, or be refused with the reason.
import { isIP } from 'node:net';
import path from 'node:path';
import { HTTP2_PROTOCOL_OPTIONS, ROUTER_FILTER, singleHostCluster, socketAddress, upstreamTls, type EnvoyObject } from '../envoy/parts.js';
import type { ProxyHost, ProxyTrust, SidecarArray } from './config.js';
import { DRIVER_CREDENTIAL_HEADERS } from './decide.js';
import type { EnvoyAdmin } from '../envoy/admin.js';

export interface SidecarEnvoyInput {
  plugin: string;
  proxy: ProxyHost;
  trust: ProxyTrust;
  arrays: readonly SidecarArray[];
  /** Unix socket the sidecar's Check server listens on. */
  authzSocketPath: string;
  /** File SDS resource holding the serving certificate (see certificates.ts). */
  certificateSdsPath: string;
  /** Directory Envoy watches for the SDS file being moved into place. */
  certificateDir: string;
  /** File SDS resource naming the proxy's CA bundle (see renderProxyCaSds); unused when insecure. */
  proxyCaSdsPath: string;
  /** File SDS resource with the access token (tokenFeed.ts) and the directory Envoy watches for it. */
  tokenSdsPath: string;
  tokenDir: string;
  /** RTDS resource switching the Check on and off (tokenFeed.ts), and its watched directory. */
  runtimePath: string;
  runtimeDir: string;
  /**
   * Envoy's admin interface (`/ready`): a unix socket by default, so nothing on a host-network node
   * pod can collide with it or answer in its place; a port on 127.0.0.1 when asked.
   */
  admin: EnvoyAdmin;
}

/** Name of the SDS secret resource certificates.ts writes. */
export const SERVING_CERT_SECRET = 'sidecar-serving-cert';
const PROXY_CA_SECRET = 'proxy-ca-bundle';
/** Name of the SDS generic secret holding the access token (tokenFeed.ts writes it). */
export const ACCESS_TOKEN_SECRET = 'tenant-access-token';
/** The RTDS layer and the runtime key (percent of requests) that switch the sidecar Check on. */
export const TOKEN_PATH_RUNTIME_LAYER = 'sidecar-token-path';
export const TOKEN_CHECK_RUNTIME_KEY = 'sidecar.token_check.enabled';
/**
 * What the driver gets should Envoy have no token to inject (its token file unreadable: the runtime
 * switch is on whenever the sidecar itself has no valid token, so the Check answers those): the
 * sidecar's usual 503 and `{error, code}` instead of the injector's bare 401.
 */
export const NO_INJECTED_TOKEN_MESSAGE = "storage-authz sidecar has no valid access token: its Envoy could not load the token file (see the Envoy log)";
/** `:authority` of the Check calls; fixed, because a unix-socket cluster has no host name. */
const AUTHZ_AUTHORITY = 'storage-authz-sidecar';

const AUTHZ_CLUSTER = 'sidecar_authz';
const PROXY_CLUSTER = 'authorization_proxy';

/** Dell's two `Forwarded` values, in Dell's order (reference §1.2). */
export function forwardedValues(plugin: string, array: SidecarArray): [string, string] {
  return [
    `for=csm-authorization;${array.intendedEndpoint};${array.systemID}`,
    `by=csm-authorization;${plugin}`,
  ];
}

export function renderSidecarEnvoyBootstrap(input: SidecarEnvoyInput): EnvoyObject {
  return {
    // SDS (even from a file) requires a node identity.
    node: { id: 'storage-authz-sidecar', cluster: 'storage-authz-sidecar' },
    admin: { address: input.admin.kind === 'socket' ? { pipe: { path: input.admin.path, mode: 0o600 } } : socketAddress('127.0.0.1', input.admin.port) },
    // Only the Check switch; until the file is read Envoy uses the filter's default (Check on).
    layered_runtime: {
      layers: [{ name: TOKEN_PATH_RUNTIME_LAYER, rtds_layer: { name: TOKEN_PATH_RUNTIME_LAYER, rtds_config: fileConfigSource(input.runtimePath, input.runtimeDir) } }],
    },
    static_resources: {
      listeners: input.arrays.map((array) => arrayListener(input, array)),
      clusters: [authzCluster(input.authzSocketPath), proxyCluster(input)],
    },
  };
}

function arrayListener(input: SidecarEnvoyInput, array: SidecarArray): EnvoyObject {
  const [forwardedFor, forwardedBy] = forwardedValues(input.plugin, array);
  return {
    name: `array_${array.listenPort}`,
    // Loopback only: the driver is in the same pod (Dell's sidecar listens on all interfaces).
    address: socketAddress('127.0.0.1', array.listenPort),
    filter_chains: [
      {
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
            common_tls_context: {
              tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
              // File SDS, so a rotated certificate is picked up without a restart.
              tls_certificate_sds_secret_configs: [
                {
                  name: SERVING_CERT_SECRET,
                  sds_config: {
                    resource_api_version: 'V3',
                    path_config_source: { path: input.certificateSdsPath, watched_directory: { path: input.certificateDir } },
                  },
                },
              ],
            },
          },
        },
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: `array_${array.listenPort}`,
              codec_type: 'AUTO',
              // Appends one X-Forwarded-For hop, as Dell's Go reverse proxy does (for a loopback peer
              // Envoy writes its host's address).
              use_remote_address: true,
              local_reply_config: {
                mappers: [
                  {
                    // Only local replies are mapped: the edge's own 401s reach the driver unchanged.
                    filter: { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 401 } } } },
                    status_code: 503,
                    body_format_override: { json_format: { error: NO_INJECTED_TOKEN_MESSAGE, code: 503 } },
                  },
                ],
              },
              route_config: {
                name: `array_${array.listenPort}`,
                virtual_hosts: [
                  {
                    name: 'driver',
                    domains: ['*'],
                    routes: [
                      {
                        match: { prefix: '/' },
                        route: {
                          cluster: PROXY_CLUSTER,
                          host_rewrite_literal: input.proxy.authority,
                          // Array calls (volume creation) can be slow; the driver has its own timeouts.
                          timeout: '0s',
                        },
                        // The sidecar's values replace any the driver sent, so the edge sees exactly Dell's two;
                        // the driver's own credentials are placeholders that must not travel further.
                        request_headers_to_remove: ['forwarded', ...DRIVER_CREDENTIAL_HEADERS],
                        request_headers_to_add: [forwardedFor, forwardedBy].map((value) => ({
                          header: { key: 'Forwarded', value },
                          append_action: 'APPEND_IF_EXISTS_OR_ADD',
                        })),
                      },
                    ],
                  },
                ],
              },
              http_filters: [
                {
                  name: 'envoy.filters.http.credential_injector',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.http.credential_injector.v3.CredentialInjector',
                    // Replaces the driver's `Authorization: Basic <placeholder>`.
                    overwrite: true,
                    // Fail closed: no token loaded, no request (answered 401, mapped to 503 above).
                    allow_request_without_credential: false,
                    credential: {
                      name: 'envoy.http.injected_credentials.generic',
                      typed_config: {
                        '@type': 'type.googleapis.com/envoy.extensions.http.injected_credentials.generic.v3.Generic',
                        credential: { name: ACCESS_TOKEN_SECRET, sds_config: fileConfigSource(input.tokenSdsPath, input.tokenDir) },
                        header: 'Authorization',
                        header_value_prefix: 'Bearer ',
                      },
                    },
                  },
                },
                {
                  // After the injector, so its token (the one it waited for) replaces the injected one.
                  name: 'envoy.filters.http.ext_authz',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
                    transport_api_version: 'V3',
                    // Off while the injected token is good (tokenFeed.ts); on by default, so an Envoy
                    // that has not read the switch yet asks.
                    filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' }, runtime_key: TOKEN_CHECK_RUNTIME_KEY },
                    grpc_service: {
                      envoy_grpc: { cluster_name: AUTHZ_CLUSTER, authority: AUTHZ_AUTHORITY },
                      // Longer than the token holder's wait for a refresh on its way (3 s), so a
                      // request that waited gets our answer, not Envoy's bare 503.
                      timeout: '5s',
                    },
                    // Fail closed: no token, no request.
                    failure_mode_allow: false,
                    status_on_error: { code: 'ServiceUnavailable' },
                    validate_mutations: true,
                  },
                },
                ROUTER_FILTER,
              ],
            },
          },
        ],
      },
    ],
  };
}

/** A file-backed xDS source, re-read when a file is moved into `watchedDir`. */
function fileConfigSource(file: string, watchedDir: string): EnvoyObject {
  return { resource_api_version: 'V3', path_config_source: { path: file, watched_directory: { path: watchedDir } } };
}

function authzCluster(socketPath: string): EnvoyObject {
  return {
    ...singleHostCluster(AUTHZ_CLUSTER, { pipe: { path: socketPath } }),
    connect_timeout: '1s',
    typed_extension_protocol_options: HTTP2_PROTOCOL_OPTIONS,
  };
}

function proxyCluster(input: SidecarEnvoyInput): EnvoyObject {
  const { proxy } = input;
  return {
    ...singleHostCluster(PROXY_CLUSTER, socketAddress(proxy.hostname, proxy.port), proxy.hostname),
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        // HTTP/1.1 with canonical header names (`Forwarded:`), as Dell's Go sidecar writes them.
        explicit_http_config: { http_protocol_options: { header_key_format: { proper_case_words: {} } } },
      },
    },
    transport_socket: input.trust.kind === 'insecure' ? upstreamTls(proxy.hostname, input.trust) : proxyTlsWithCaBundle(proxy, input.proxyCaSdsPath, input.trust.caFile),
  };
}

/**
 * The CA bundle comes through file SDS so that a rotated bundle (a re-applied
 * `proxy-server-root-certificate` secret) is used without a restart; the proxy's name is checked
 * against its certificate as in a static validation context.
 */
function proxyTlsWithCaBundle(proxy: ProxyHost, sdsPath: string, caFile: string): EnvoyObject {
  const hostIsIp = isIP(proxy.hostname) !== 0;
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      ...(hostIsIp ? {} : { sni: proxy.hostname }),
      common_tls_context: {
        combined_validation_context: {
          default_validation_context: {
            match_typed_subject_alt_names: [{ san_type: hostIsIp ? 'IP_ADDRESS' : 'DNS', matcher: { exact: proxy.hostname } }],
          },
          validation_context_sds_secret_config: {
            name: PROXY_CA_SECRET,
            sds_config: { resource_api_version: 'V3', path_config_source: { path: sdsPath, watched_directory: { path: path.dirname(caFile) } } },
          },
        },
      },
    },
  };
}

/** The file SDS resource `proxyTlsWithCaBundle` reads: the bundle by file name, re-read when it is replaced. */
export function renderProxyCaSds(caFile: string): string {
  return JSON.stringify({
    resources: [
      {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
        name: PROXY_CA_SECRET,
        validation_context: { trusted_ca: { filename: caFile } },
      },
    ],
  });
}
