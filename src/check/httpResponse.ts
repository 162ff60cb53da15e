// Decision → the answer ext_authz's http_service reads (pure): the HTTP face of response.ts.
import type { Decision } from '../pipeline/types.js';
import { CLIENT_HEADERS, DENY_STATUS_KEY, HEADERS_TO_REMOVE, MAPPED_DENY_STATUSES, METADATA_HEADERS, PATH_HEADER, UPSTREAM_HEADERS } from './httpContract.js';

export interface HttpAnswer {
  status: number;
  /** In order; a name may repeat (two `set-cookie`). */
  headers: [string, string][];
  body: string;
}

const UPSTREAM = new Set(UPSTREAM_HEADERS);
const CLIENT = new Set(CLIENT_HEADERS);
const METADATA_KEYS = new Set(METADATA_HEADERS);
const MAPPED = new Set<number>(MAPPED_DENY_STATUSES);

/** Envoy would drop a header its config does not name; a decision it cannot carry whole is an error, never a partial allow. */
function checked(name: string, allowed: ReadonlySet<string>, what: string): string {
  const lower = name.toLowerCase();
  if (!allowed.has(lower)) throw new Error(`${what} header "${name}" is not one the edge's http_service passes (check/httpContract.ts)`);
  return lower;
}

function metadataHeaders(metadata: Record<string, string>, headers: [string, string][]): void {
  for (const [key, value] of Object.entries(metadata)) headers.push([checked(key, METADATA_KEYS, 'metadata'), value]);
}

/** `path`: the request's `:path`, set again when the decision does not rewrite it (a tenant's own PATH_HEADER is overwritten, never obeyed). */
export function toHttpAnswer(decision: Decision, path: string): HttpAnswer {
  const headers: [string, string][] = [];
  if (decision.kind === 'allow') {
    let forwardedPath = path;
    for (const { name, value } of decision.setHeaders) {
      if (name === ':path') forwardedPath = value;
      else headers.push([checked(name, UPSTREAM, 'allow'), value]);
    }
    headers.push([PATH_HEADER, forwardedPath]);
    // Envoy applies removals after the sets: the path header it must still find is never removed.
    const removed = decision.removeHeaders.filter((name) => name !== PATH_HEADER);
    if (removed.length > 0) headers.push([HEADERS_TO_REMOVE, removed.join(',')]);
    metadataHeaders(decision.metadata, headers);
    return { status: 200, headers, body: '' };
  }
  for (const { name, value } of decision.headers) headers.push([checked(name, CLIENT, 'deny'), value]);
  metadataHeaders(decision.metadata, headers);
  if (decision.status >= 400 && decision.status < 500) return { status: decision.status, headers, body: decision.body };
  if (!MAPPED.has(decision.status)) throw new Error(`deny status ${decision.status} is not one the edge restores (check/httpContract.ts MAPPED_DENY_STATUSES)`);
  headers.push([DENY_STATUS_KEY, String(decision.status)]);
  return { status: 403, headers, body: decision.body };
}
