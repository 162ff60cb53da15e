// CheckRequest → RequestView: the one place the pipeline's view of a request is made (pure).
import type { RequestView } from '../pipeline/types.js';
import type { CheckRequestMessage } from './wire.js';

const EMPTY = Buffer.alloc(0);

export function toRequestView(check: CheckRequestMessage): RequestView {
  const http = check.attributes?.request?.http ?? {};
  const headers: Record<string, string> = {};
  // Envoy already lower-cases names for gRPC; lower-casing again keeps the contract when a caller
  // (a test, the sidecar) builds a CheckRequest by hand.
  for (const [name, value] of Object.entries(http.headers ?? {})) headers[name.toLowerCase()] = value;
  return {
    // x-request-id is the id Envoy's access log and its answers carry (the audit trail's decision id).
    id: headers['x-request-id'] || (http.id ?? ''),
    method: (http.method ?? headers[':method'] ?? '').toUpperCase(),
    path: http.path ?? headers[':path'] ?? '',
    headers,
    // raw_body (pack_as_bytes) is the body byte for byte; `body` is a UTF-8 string that Envoy
    // mangles for non-UTF-8 bytes, so it is only the fallback for configs without pack_as_bytes.
    body: http.raw_body ?? (http.body ? Buffer.from(http.body, 'utf8') : EMPTY),
  };
}
