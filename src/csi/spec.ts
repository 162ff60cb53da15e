// The CSI spec, loaded at start-up from the `github.com/container-storage-interface/spec` Go module
// (scripts/fetch-csi-spec.sh puts its csi.proto into the per-user cache; never copied into the repo):
// a copied or trimmed .proto would mis-decode silently when a field number differs.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const CSI_SPEC_VERSION = 'v1.13.0';

/** Where fetch-csi-spec.sh leaves csi.proto (STORAGE_AUTHZ_CSI_PROTO overrides). */
export function csiProtoPath(): string {
  if (process.env.STORAGE_AUTHZ_CSI_PROTO) return process.env.STORAGE_AUTHZ_CSI_PROTO;
  const cacheRoot = process.env.STORAGE_AUTHZ_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'storage-authz');
  return path.join(cacheRoot, `csi-spec-${CSI_SPEC_VERSION}`, 'csi.proto');
}

/** The services of package csi.v1 by name (Identity, Controller, GroupController, SnapshotMetadata, Node). */
export type CsiServices = Record<string, grpc.ServiceDefinition>;

let loaded: CsiServices | undefined;

/** Loads csi.proto once; fails naming the script that fetches it. */
export function csiServices(): CsiServices {
  if (loaded) return loaded;
  const file = csiProtoPath();
  if (!existsSync(file)) throw new Error(`CSI spec not found at ${file}: run scripts/fetch-csi-spec.sh (or set STORAGE_AUTHZ_CSI_PROTO)`);
  // descriptor.proto (imported for CSI's field options) comes with protobufjs.
  const protobufjsDir = path.dirname(createRequire(import.meta.url).resolve('protobufjs/package.json'));
  const definition = protoLoader.loadSync(file, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [path.dirname(file), protobufjsDir] });
  const csi = (grpc.loadPackageDefinition(definition).csi as grpc.GrpcObject).v1 as grpc.GrpcObject;
  loaded = Object.fromEntries(
    Object.entries(csi)
      .filter(([, value]) => typeof value === 'function' && 'service' in value)
      .map(([name, value]) => [name, (value as grpc.ServiceClientConstructor).service]),
  );
  return loaded;
}
