// Decoding a CheckRequest into only what the pipeline reads (protoView.ts). Envoy's CheckRequest
// carries the whole attribute context (peer addresses and certificates, TLS session, route and
// connection metadata, every request field); proto-loader's decoder materialised all of it on every
// call, which cost 12% of the service's CPU behind the edge (npm run bench -- --only envoy --profile).
import protobuf from 'protobufjs';
import { officialRoot } from './protos.js';
import { viewDecoder } from './protoView.js';
import type { CheckRequestMessage } from './wire.js';

const HTTP_REQUEST = 'envoy.service.auth.v3.AttributeContext.HttpRequest';
/** request.ts reads these, with the types it expects (checked against the official proto at start-up). */
const HTTP_FIELDS: Record<string, string> = { id: 'string', method: 'string', headers: 'map<string,string>', path: 'string', body: 'string', raw_body: 'bytes' };

const typeName = (field: protobuf.FieldBase): string => (field instanceof protobuf.MapField ? `map<${field.keyType},${field.type}>` : field.type);

/** The decoder: CheckRequest bytes → the CheckRequestMessage fields request.ts reads, nothing else. */
export function checkRequestViewDecoder(): (buffer: Buffer) => CheckRequestMessage {
  const root = officialRoot();
  const http = root.lookupType(HTTP_REQUEST);
  for (const [name, expected] of Object.entries(HTTP_FIELDS)) {
    const field: protobuf.FieldBase | undefined = http.fields[name];
    if (!field || typeName(field) !== expected) throw new Error(`${HTTP_REQUEST}.${name} is not ${expected} in the Envoy protos: update request.ts`);
  }
  const kept = Object.fromEntries(Object.keys(HTTP_FIELDS).map((name) => [name, true as const]));
  return viewDecoder<CheckRequestMessage>(root, 'storage_authz.check_view', 'envoy.service.auth.v3.CheckRequest', { attributes: { request: { http: kept } } });
}
