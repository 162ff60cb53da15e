// Realistic CheckRequests, shaped as the edge Envoy sends them for a PowerFlex CSI driver behind the
// sidecar: ten request headers including the tenant's Bearer JWT and the sidecar's two Forwarded
// values (Envoy joins repeated headers with ','), and for a create the driver's JSON body as raw bytes.
// Field names follow proto-loader's keepCase option used by src/check/protos.ts.

import { TIMEOUT_HEADER } from '../../src/check/httpContract.js';
import { DEFAULT_AUTHZ_TIMEOUT_MS } from '../../src/envoy/edge.js';
import { REQUEST_NUMBER, type HttpRequestSpec } from './http-client.js';

export type DecisionKind = 'read' | 'create';

export interface RequestSpec {
  kind: DecisionKind;
  /** The tenant's access token (sent as `Authorization: Bearer …`). */
  token: string;
  systemId: string;
  /** The array endpoint the sidecar names in `Forwarded: for=`. */
  endpoint: string;
  /** PowerFlex storage pool id (create only). */
  poolId: string;
  /** Create: volume size in KiB, as the driver sends it (a string). */
  sizeKiB: number;
  /** Create: makes volume names unique across runs and processes (`<prefix>-<n>`). */
  volumePrefix: string;
  /** Create: reuse names after this many (the soak keeps the ledger bounded this way); unset = every name new. */
  volumeCycle?: number;
}

const READ_PATH = '/api/instances/Volume::4a1b2c3d00000001';
const CREATE_PATH = '/api/types/Volume/instances/';

/** The request as the edge Envoy passes it on: method, path, headers (pseudo-headers included), body. */
function envoyRequest(spec: RequestSpec, suffix: string): { method: string; path: string; headers: Record<string, string>; body?: Buffer } {
  const create = spec.kind === 'create';
  const volume = `${spec.volumePrefix}-${suffix}`;
  const body = create
    ? Buffer.from(
        JSON.stringify({
          name: volume,
          protectionDomainId: '6b2ffe6c00000000',
          storagePoolId: spec.poolId,
          volumeSizeInKb: String(spec.sizeKiB),
          volumeType: 'ThinProvisioned',
        }),
      )
    : undefined;
  const method = create ? 'POST' : 'GET';
  const path = create ? CREATE_PATH : READ_PATH;
  const headers: Record<string, string> = {
    ':authority': 'powerflex.storage-authz.example',
    ':method': method,
    ':path': path,
    ':scheme': 'https',
    authorization: `Bearer ${spec.token}`,
    forwarded: `for=csm-authorization;${spec.endpoint};${spec.systemId},by=csm-authorization;csi-vxflexos`,
    'user-agent': 'Go-http-client/1.1',
    'x-request-id': `bench-${volume}`,
    'x-csi-pv-name': create ? volume : 'k8s-0fc0695995',
    'x-forwarded-proto': 'https',
    ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
  };
  return { method, path, headers, ...(body && { body }) };
}

/** The CheckRequest whose volume (and request id) ends in `suffix`. */
export function checkRequest(spec: RequestSpec, suffix: string): object {
  const { method, path, headers, body } = envoyRequest(spec, suffix);
  return {
    attributes: {
      source: { address: { socket_address: { address: '10.244.1.17', port_value: 48312 } } },
      destination: { address: { socket_address: { address: '10.96.0.40', port_value: 443 } } },
      request: {
        time: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
        http: {
          id: headers['x-request-id'],
          method,
          headers,
          path,
          host: headers[':authority'],
          scheme: 'https',
          protocol: 'HTTP/1.1',
          size: body ? body.length : 0,
          ...(body ? { raw_body: body } : {}),
        },
      },
    },
  };
}

/**
 * The same request as ext_authz's `http_service` asks serve's HTTP check server (`origin`,
 * http://host:port): the tenant's method, path, headers and body, `:authority` as Host, and the
 * timeout Envoy adds (the edge's default). The n-th request names volume `<prefix>-<n, 7 digits>`
 * (http-client.ts numbers it); no volume cycle.
 */
export function extAuthzHttpRequest(spec: RequestSpec, origin: string, connections: number, deadlineMs: number): HttpRequestSpec {
  if (spec.volumeCycle !== undefined) throw new Error('extAuthzHttpRequest: a volume cycle is not supported over HTTP');
  const { method, path, headers, body } = envoyRequest(spec, REQUEST_NUMBER);
  const { ':authority': host, 'content-length': _length, ...rest } = headers;
  const plain = Object.fromEntries(Object.entries(rest).filter(([name]) => !name.startsWith(':')));
  // undici writes Content-Length for the numbered body (the template's length is not the request's).
  return { origin, method, path, headers: { host: host!, ...plain, [TIMEOUT_HEADER]: String(DEFAULT_AUTHZ_TIMEOUT_MS) }, connections, deadlineMs, ...(body && { body: body.toString() }) };
}

// The suffix is a fixed-width counter written into one pre-encoded request: every length prefix
// stays valid, and the load generator spends its CPU on sending rather than on protobuf encoding.
const SUFFIX_WIDTH = 8;
const PLACEHOLDER = '~'.repeat(SUFFIX_WIDTH);

/** Encoded CheckRequests: the n-th names volume `<prefix>-<n, zero-padded>` (n modulo volumeCycle when set). */
export function requestEncoder(spec: RequestSpec, serialize: (message: object) => Buffer): (n: number) => Buffer {
  const template = serialize(checkRequest(spec, PLACEHOLDER));
  const offsets: number[] = [];
  for (let at = template.indexOf(PLACEHOLDER); at !== -1; at = template.indexOf(PLACEHOLDER, at + SUFFIX_WIDTH)) offsets.push(at);
  return (n) => {
    const index = spec.volumeCycle ? n % spec.volumeCycle : n;
    const suffix = String(index).padStart(SUFFIX_WIDTH, '0');
    if (suffix.length > SUFFIX_WIDTH) throw new Error(`more than 10^${SUFFIX_WIDTH} distinct volumes in one job`);
    const encoded = Buffer.from(template);
    for (const at of offsets) encoded.write(suffix, at, 'latin1');
    return encoded;
  };
}
