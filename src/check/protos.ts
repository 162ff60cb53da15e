// The wire contract with Envoy: the official Envoy protos, loaded at run time from the four `deps/`
// roots that @grpc/grpc-js-xds publishes (never a copied or trimmed .proto: a wrong field number
// mis-decodes silently; reference envoy-and-peers.md §1.7).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { ServiceDefinition } from '@grpc/grpc-js';

const PROTO_ROOTS = ['envoy-api', 'xds', 'protoc-gen-validate', 'googleapis'] as const;

export const AUTHORIZATION_PROTO = 'envoy/service/auth/v3/external_auth.proto';
export const ACCESS_LOG_PROTO = 'envoy/service/accesslog/v3/als.proto';

/**
 * Loader options, chosen deliberately:
 * - keepCase: field names as in the .proto and Envoy's docs (`ok_response`, `raw_body`), so code and
 *   docs read the same. Caveat: protobufjs's built-in well-known types keep their camelCase JSON
 *   names, so a google.protobuf.Struct value is `{stringValue}`, not `{string_value}`.
 * - longs: Number: the int64 fields we touch (body size, timestamps) are far below 2^53.
 * - enums: String: `append_action: 'OVERWRITE_IF_EXISTS_OR_ADD'` reads as the docs do.
 * - defaults: false: an absent field stays undefined, so "no raw_body" differs from "empty raw_body",
 *   and decoding does not materialise the ~100 unset fields of a CheckRequest.
 * - oneofs: true: a decoded message names its set oneof member (e.g. `http_response`).
 * - bytes are Buffers (proto-loader's default), which is what the pipeline's RequestView.body is.
 */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
};

/** The directories the official Envoy protos (and what they import) are loaded from. */
export function protoRoots(): string[] {
  const require = createRequire(import.meta.url);
  const packageDir = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  return PROTO_ROOTS.map((root) => path.join(packageDir, 'deps', root));
}

export interface EnvoyServices {
  authorization: ServiceDefinition;
  accessLog: ServiceDefinition;
}

let loaded: EnvoyServices | undefined;

/** The Authorization and AccessLogService definitions (loaded once per process). */
export function envoyServices(): EnvoyServices {
  if (!loaded) {
    const definitions = protoLoader.loadSync([AUTHORIZATION_PROTO, ACCESS_LOG_PROTO], {
      ...LOADER_OPTIONS,
      includeDirs: protoRoots(),
    });
    loaded = {
      authorization: definitions['envoy.service.auth.v3.Authorization'] as ServiceDefinition,
      accessLog: definitions['envoy.service.accesslog.v3.AccessLogService'] as ServiceDefinition,
    };
  }
  return loaded;
}

/**
 * An official proto (default external_auth) and what it imports, as a protobufjs Root resolved
 * from the same roots, for the hot-path codecs derived from it (requestView.ts, responseEncoder.ts,
 * accessLogView.ts). A new Root per call: a caller may add its view types to it.
 */
export function officialRoot(protoFile: string = AUTHORIZATION_PROTO): protobuf.Root {
  const roots = protoRoots();
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    for (const dir of roots) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return protobuf.util.path.resolve(origin, target);
  };
  root.loadSync(protoFile, { keepCase: true });
  root.resolveAll();
  return root;
}
