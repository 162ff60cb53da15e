// Decoding a CheckRequest into only what the pipeline reads. Envoy's CheckRequest carries the whole
// attribute context (peer addresses and certificates, TLS session, route and connection metadata,
// every request field); proto-loader's decoder materialises all of it on every call, which cost 12%
// of the service's CPU behind the edge (npm run bench -- --only envoy --profile). This decoder is
// derived at start-up from the same official protos (protos.ts), field numbers and types read from
// their reflection, never typed by hand: fields it does not name are skipped by protobufjs as
// unknown fields, so what it yields is exactly the official decoding of the fields it keeps.
import protobuf from 'protobufjs';
import { officialRoot } from './protos.js';
import type { CheckRequestMessage } from './wire.js';

/** The path to HttpRequest, message by message, and the HttpRequest fields the pipeline reads. */
const PATH = [
  ['envoy.service.auth.v3.CheckRequest', 'attributes'],
  ['envoy.service.auth.v3.AttributeContext', 'request'],
  ['envoy.service.auth.v3.AttributeContext.Request', 'http'],
] as const;
const HTTP_REQUEST = 'envoy.service.auth.v3.AttributeContext.HttpRequest';
/** request.ts reads these, with the types it expects (checked against the official proto at start-up). */
const HTTP_FIELDS: Record<string, string> = { id: 'string', method: 'string', headers: 'map<string,string>', path: 'string', body: 'string', raw_body: 'bytes' };

const typeName = (field: protobuf.FieldBase): string => (field instanceof protobuf.MapField ? `map<${field.keyType},${field.type}>` : field.type);

/** A copy of `source`'s field `name` (same number, type and rule), its message type renamed to `as`. */
function copyField(source: protobuf.Type, name: string, as?: string): protobuf.FieldBase {
  const field: protobuf.FieldBase | undefined = source.fields[name];
  if (!field) throw new Error(`${source.fullName} has no field ${name}: the Envoy protos changed`);
  if (field instanceof protobuf.MapField) return new protobuf.MapField(name, field.id, field.keyType, field.type);
  return new protobuf.Field(name, field.id, as ?? field.type, field.repeated ? 'repeated' : undefined);
}

/** The decoder: CheckRequest bytes → the CheckRequestMessage fields request.ts reads, nothing else. */
export function checkRequestViewDecoder(): (buffer: Buffer) => CheckRequestMessage {
  const official = officialRoot();
  const view = new protobuf.Root();
  const namespace = view.define('storage_authz.check_view');
  const http = official.lookupType(HTTP_REQUEST);
  const httpView = new protobuf.Type('HttpRequest');
  for (const [name, expected] of Object.entries(HTTP_FIELDS)) {
    const field: protobuf.FieldBase | undefined = http.fields[name];
    if (!field || typeName(field) !== expected) throw new Error(`${HTTP_REQUEST}.${name} is not ${expected} in the Envoy protos: update request.ts`);
    httpView.add(copyField(http, name));
  }
  namespace.add(httpView);
  let inner = 'HttpRequest';
  // From HttpRequest outwards: each message keeps only the field leading to the previous one.
  for (const [message, field] of [...PATH].reverse()) {
    const name = `${message.split('.').at(-1)}View`;
    namespace.add(new protobuf.Type(name).add(copyField(official.lookupType(message), field, inner)));
    inner = name;
  }
  view.resolveAll();
  const type = view.lookupType(`storage_authz.check_view.${inner}`);
  // proto-loader's conversion options (protos.ts), so the shape is the one wire.ts declares.
  const options: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: false, oneofs: true };
  return (buffer) => type.toObject(type.decode(buffer), options) as CheckRequestMessage;
}
