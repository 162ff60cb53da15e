import { expect } from 'chai';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { ACCESS_LOG_FIELDS, accessLogViewDecoder } from './accessLogView.js';
import { envoyServices } from './protos.js';
import type { StreamAccessLogsMessage } from './wire.js';

/** An HTTP entry with everything Envoy fills in, besides what settlement reads. */
function fullEntry(n: number, extra: { code?: number; flags?: Record<string, boolean> } = {}) {
  return {
    common_properties: {
      sample_rate: 1,
      downstream_remote_address: { socket_address: { address: '10.244.1.17', port_value: 48000 + n } },
      downstream_local_address: { socket_address: { address: '10.244.2.9', port_value: 8443 } },
      tls_properties: { tls_version: 'TLSv1_3', tls_sni_hostname: 'storage-authz.example', peer_certificate_properties: { subject: 'CN=csi-vxflexos' } },
      start_time: { seconds: 1764720000 + n, nanos: 1000 },
      time_to_last_rx_byte: { nanos: 120_000 },
      time_to_first_upstream_tx_byte: { nanos: 300_000 },
      time_to_last_downstream_tx_byte: { nanos: 2_100_000 },
      upstream_remote_address: { socket_address: { address: '10.0.0.1', port_value: 443 } },
      upstream_cluster: 'storage-powerflex-7045c4cc20dffc0f',
      ...(extra.flags && { response_flags: extra.flags }),
      metadata: {
        filter_metadata: {
          'envoy.filters.http.ext_authz': { fields: { holds: { stringValue: `r1.hold-${n}` }, tenant: { stringValue: 'blue' }, weight: { numberValue: 2 } } },
          'envoy.lb': { fields: { canary: { boolValue: false } } },
        },
      },
      route_name: 'edge',
    },
    protocol_version: 'HTTP11',
    request: { request_method: 'POST', scheme: 'https', authority: 'powerflex', path: '/api/types/Volume/instances/', user_agent: 'gopowerflex', request_id: `id-${n}`, request_headers_bytes: 420, request_body_bytes: 180, request_headers: { forwarded: 'for=…' } },
    ...(extra.code !== undefined && { response: { response_code: { value: extra.code }, response_headers_bytes: 90, response_body_bytes: 30, response_code_details: 'via_upstream', response_headers: { 'content-type': 'application/json' } } }),
  };
}

describe('access-log view decoder', () => {
  const { StreamAccessLogs } = envoyServices().accessLog as ServiceDefinition;
  const decodeView = accessLogViewDecoder();
  const kept = (entry: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(ACCESS_LOG_FIELDS)
        .filter(([message]) => entry[message] !== undefined)
        .map(([message, fields]) => {
          const official = entry[message] as Record<string, unknown>;
          return [message, Object.fromEntries(Object.keys(fields).filter((f) => official[f] !== undefined).map((f) => [f, official[f]]))];
        }),
    );

  it('yields what the official decoding yields for every field settlement reads, and nothing else', () => {
    const message = {
      identifier: { node: { id: 'edge-0', cluster: 'storage-authz' }, log_name: 'storage-authz-edge' },
      http_logs: { log_entry: [fullEntry(1, { code: 200 }), fullEntry(2, { code: 504, flags: { upstream_request_timeout: true } }), fullEntry(3, { flags: { downstream_connection_termination: true } })] },
    };
    const bytes = StreamAccessLogs!.requestSerialize(message);
    const official = StreamAccessLogs!.requestDeserialize(bytes) as { http_logs: { log_entry: Array<Record<string, unknown>> } };
    const view = decodeView(bytes);
    expect(view).to.deep.equal({ http_logs: { log_entry: official.http_logs.log_entry.map(kept) } });
    // What settlement reads, as the official decoding has it.
    const [ok, timedOut, reset] = view.http_logs!.log_entry!;
    expect(ok!.common_properties!.metadata!.filter_metadata!['envoy.filters.http.ext_authz']!.fields!['holds']).to.deep.equal({ stringValue: 'r1.hold-1', kind: 'stringValue' });
    expect(ok!.response!.response_code).to.deep.equal({ value: 200 });
    expect(ok!.request).to.deep.equal({ request_id: 'id-1' });
    expect(timedOut!.common_properties!.response_flags).to.deep.equal({ upstream_request_timeout: true });
    expect(reset!.response).to.equal(undefined);
  });

  it('keeps absent fields absent', () => {
    const empty: StreamAccessLogsMessage = decodeView(StreamAccessLogs!.requestSerialize({ http_logs: { log_entry: [{}] } }));
    expect(empty).to.deep.equal({ http_logs: { log_entry: [{}] } });
    expect(decodeView(StreamAccessLogs!.requestSerialize({}))).to.deep.equal({});
  });
});
