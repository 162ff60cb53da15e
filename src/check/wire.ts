// TypeScript views of the Envoy messages this service reads and writes, as decoded/encoded by
// proto-loader with the options in protos.ts (snake_case fields; Struct values in camelCase).
// Only the fields we use are declared; the protos stay the source of truth.

export interface CheckRequestMessage {
  attributes?: {
    request?: {
      http?: {
        id?: string;
        method?: string;
        headers?: Record<string, string>;
        path?: string;
        body?: string;
        raw_body?: Buffer;
      };
    };
  };
}

export type AppendAction = 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';

export interface HeaderValueOption {
  header: { key: string; value: string };
  append_action?: AppendAction;
}

/** google.protobuf.Struct as protobufjs encodes it. */
export interface StructMessage {
  fields: Record<string, { stringValue?: string; structValue?: StructMessage }>;
}

export interface CheckResponseMessage {
  /** google.rpc.Status: 0 allows; 7 (PERMISSION_DENIED) / 16 (UNAUTHENTICATED) deny. */
  status: { code: number; message?: string };
  ok_response?: { headers: HeaderValueOption[]; headers_to_remove: string[] };
  /** status.code is envoy.type.v3.StatusCode: sent as a number, decoded as its name ('Unauthorized'). */
  denied_response?: { status: { code: number | string }; headers: HeaderValueOption[]; body: string };
  dynamic_metadata?: StructMessage;
}

export interface HttpAccessLogEntryMessage {
  common_properties?: {
    metadata?: { filter_metadata?: Record<string, StructMessage> };
    /** envoy.data.accesslog.v3.ResponseFlags: only the flags that are set appear (defaults: false). */
    response_flags?: Record<string, unknown>;
  };
  request?: { request_id?: string };
  response?: { response_code?: { value?: number } };
}

export interface StreamAccessLogsMessage {
  http_logs?: { log_entry?: HttpAccessLogEntryMessage[] };
}
