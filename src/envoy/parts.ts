// Building blocks of Envoy bootstrap configs (pure), shared by the edge config and any other
// rendered config, so that TLS verification and the gRPC cluster settings are written once.
import { isIP } from 'node:net';

export type EnvoyObject = Record<string, unknown>;

export function socketAddress(address: string, port: number): EnvoyObject {
  return { socket_address: { address, port_value: port } };
}

/** `host:port` or `unix:/path` (the forms the Check server listens on) → an Envoy address. */
export function envoyAddress(address: string): EnvoyObject {
  if (address.startsWith('unix:')) return { pipe: { path: address.slice('unix:'.length) } };
  const match = /^(.+):(\d+)$/.exec(address);
  if (!match) throw new Error(`address "${address}" is neither host:port nor unix:/path`);
  return socketAddress(match[1]!.replace(/^\[(.*)\]$/, '$1'), Number(match[2]));
}

/** gRPC needs HTTP/2 to the upstream; without this Envoy speaks HTTP/1.1 and the server sees a bad preamble. */
export const HTTP2_PROTOCOL_OPTIONS: EnvoyObject = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
};

export const ROUTER_FILTER: EnvoyObject = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

/** Downstream (serving) TLS, TLS 1.2 at least; `certificates` holds tls_certificates or SDS configs. */
export function downstreamTls(certificates: EnvoyObject): EnvoyObject {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: { tls_params: { tls_minimum_protocol_version: 'TLSv1_2' }, ...certificates },
    },
  };
}

/** How an upstream's certificate is checked: against a CA bundle and the host name, or not at all. */
export type UpstreamTrust = { kind: 'ca-bundle'; caFile: string } | { kind: 'insecure' };

/** Upstream TLS with SNI (host names only, RFC 6066) and, unless insecure, CA + subject-alt-name checks. */
export function upstreamTls(hostname: string, trust: UpstreamTrust): EnvoyObject {
  const hostIsIp = isIP(hostname) !== 0;
  const validation =
    trust.kind === 'ca-bundle'
      ? {
          validation_context: {
            trusted_ca: { filename: trust.caFile },
            // Without a name match Envoy would accept any certificate the CA signed.
            match_typed_subject_alt_names: [{ san_type: hostIsIp ? 'IP_ADDRESS' : 'DNS', matcher: { exact: hostname } }],
          },
        }
      : {};
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      ...(hostIsIp ? {} : { sni: hostname }),
      common_tls_context: validation,
    },
  };
}

/** A cluster of one upstream host; DNS names are re-resolved, IP literals are static. */
export function singleHostCluster(name: string, address: EnvoyObject, hostname?: string): EnvoyObject {
  const dns = hostname !== undefined && isIP(hostname) === 0;
  return {
    name,
    type: dns ? 'LOGICAL_DNS' : 'STATIC',
    ...(dns && { dns_lookup_family: 'V4_PREFERRED' }),
    connect_timeout: '5s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address } }] }] },
  };
}
