// HTTPS requests through Envoy, as the CSI driver sends them: a few keep-alive connections (the
// driver's Go client keeps a small pool), one request at a time on each unless the load needs more.
import { Pool } from 'undici';
import type { Outcome } from './run.js';

export interface HttpRequestSpec {
  /** https://host:port */
  origin: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** PEM the server's certificate chains to; absent = not verified (the sidecar's localhost
   *  certificate is generated at its start, and drivers are configured `insecure` for it). */
  ca?: string;
  connections: number;
  deadlineMs: number;
}

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
  return async () => {
    const response = await target.request({ method: spec.method, path: spec.path, headers: spec.headers });
    if (response.statusCode >= 200 && response.statusCode < 300) {
      await response.body.dump();
      return { kind: 'allow' };
    }
    return { kind: 'deny', detail: `${response.statusCode} ${(await response.body.text()).slice(0, 200)}` };
  };
}
