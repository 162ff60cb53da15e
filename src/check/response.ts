// Decision → CheckResponse (pure). Allow mutates the forwarded request; deny is Envoy's local reply.
import type { Decision, HeaderSet } from '../pipeline/types.js';
import type { CheckResponseMessage, HeaderValueOption, StructMessage } from './wire.js';

const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;

// Set explicitly: ext_authz's default append semantics have changed between Envoy versions
// (reference envoy-and-peers.md §1.6); a credential header must replace the tenant's, never join it.
const toHeaderOption = ({ name, value }: HeaderSet): HeaderValueOption => ({
  header: { key: name, value },
  append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
});

function toStruct(metadata: Record<string, string>): StructMessage | undefined {
  const entries = Object.entries(metadata);
  if (entries.length === 0) return undefined;
  return { fields: Object.fromEntries(entries.map(([key, value]) => [key, { stringValue: value }])) };
}

export function toCheckResponse(decision: Decision): CheckResponseMessage {
  const dynamic_metadata = toStruct(decision.metadata);
  if (decision.kind === 'allow') {
    return {
      status: { code: GRPC_OK },
      ok_response: {
        headers: decision.setHeaders.map(toHeaderOption),
        headers_to_remove: decision.removeHeaders,
      },
      ...(dynamic_metadata && { dynamic_metadata }),
    };
  }
  return {
    status: { code: decision.status === 401 ? GRPC_UNAUTHENTICATED : GRPC_PERMISSION_DENIED },
    denied_response: {
      status: { code: decision.status },
      headers: decision.headers.map(toHeaderOption),
      body: decision.body,
    },
    ...(dynamic_metadata && { dynamic_metadata }),
  };
}
