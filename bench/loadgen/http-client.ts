// HTTPS requests through Envoy, as the CSI driver sends them: a few keep-alive connections (the
// driver's Go client keeps a small pool), one request at a time on each unless the load needs more.
import { Pool } from 'undici';
import type { Outcome } from './run.js';

export interface HttpRequestSpec {
  /** https://host:port */
  origin: string;
  method: string;
  path: string;
  /** A list sends the header once per value, on lines of its own (Dell's server reads `Forwarded` so). */
  headers: Record<string, string | string[]>;
  /** PEM the server's certificate chains to; absent = not verified (the sidecar's localhost
   *  certificate is generated at its start, and drivers are configured `insecure` for it). */
  ca?: string;
  connections: number;
  deadlineMs: number;
  /** A body sent with every request, `{n}` replaced by the request's number (so each create names a new
   *  volume); header values may carry `{n}` too (Dell's `x-csi-pv-name`), numbered alike. */
  body?: string;
}

/** The placeholder a body template numbers requests with. */
export const REQUEST_NUMBER = '{n}';

/** The n-th body of a template: `{n}` becomes n, zero-padded to 7 digits (volume names stay short and sortable). */
export const numberedBody = (template: string, n: number): string => template.replaceAll(REQUEST_NUMBER, String(n).padStart(7, '0'));

const pools = new Map<string, Pool>();

function pool(spec: HttpRequestSpec): Pool {
  const key = `${spec.origin}#${spec.connections}`;
  let existing = pools.get(key);
  if (!existing) {
    existing = new Pool(spec.origin, { connections: spec.connections, connect: spec.ca === undefined ? { rejectUnauthorized: false } : { ca: spec.ca }, headersTimeout: spec.deadlineMs, bodyTimeout: spec.deadlineMs });
    pools.set(key, existing);
  }
  return existing;
}

/** 2xx is an allow; any other status is a deny (with its status and the start of its body). */
export function httpCaller(spec: HttpRequestSpec): () => Promise<Outcome> {
  const target = pool(spec);
  let sent = 0;
  const numberedHeaders = Object.entries(spec.headers).some(([, value]) => [value].flat().some((v) => v.includes(REQUEST_NUMBER)));
  return async () => {
    const n = sent++;
    const body = spec.body === undefined ? undefined : numberedBody(spec.body, n);
    const headers = numberedHeaders ? Object.fromEntries(Object.entries(spec.headers).map(([name, value]) => [name, Array.isArray(value) ? value.map((v) => numberedBody(v, n)) : numberedBody(value, n)])) : spec.headers;
    const response = await target.request({ method: spec.method, path: spec.path, headers, ...(body !== undefined && { body }) });
    if (response.statusCode >= 200 && response.statusCode < 300) {
      await response.body.dump();
      return { kind: 'allow' };
    }
    return { kind: 'deny', detail: `${response.statusCode} ${(await response.body.text()).slice(0, 200)}` };
  };
}
