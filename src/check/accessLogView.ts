// Decoding Envoy's access-log stream into only what settlement reads (protoView.ts). Each entry
// carries the whole request's common properties (addresses, TLS peer, a dozen timings, upstream
// details) and Envoy batches hundreds per message; proto-loader's decoder built all of it, which was
// most of what an access-logged create cost the service beyond its decision (bench/edge-variants.ts).
import { ACCESS_LOG_PROTO, officialRoot } from './protos.js';
import { viewDecoder } from './protoView.js';
import type { StreamAccessLogsMessage } from './wire.js';

/** server.ts reads these of each HTTP entry (wire.ts HttpAccessLogEntryMessage). */
export const ACCESS_LOG_FIELDS = {
  common_properties: { metadata: { filter_metadata: true }, response_flags: true },
  request: { request_id: true },
  response: { response_code: true },
} as const;

/** The decoder: StreamAccessLogsMessage bytes → the fields of its HTTP entries that server.ts reads. */
export function accessLogViewDecoder(): (buffer: Buffer) => StreamAccessLogsMessage {
  return viewDecoder<StreamAccessLogsMessage>(officialRoot(ACCESS_LOG_PROTO), 'storage_authz.access_log_view', 'envoy.service.accesslog.v3.StreamAccessLogsMessage', {
    http_logs: { log_entry: ACCESS_LOG_FIELDS },
  });
}
