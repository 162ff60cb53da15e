// The shapes that flow through the decision pipeline (DESIGN.md §2): a request view made from
// Envoy's CheckRequest, and the Decision that becomes the CheckResponse.

/** The intercepted HTTP request, as the pipeline sees it (made from CheckRequest.attributes.request.http). */
export interface RequestView {
  /** x-request-id or Envoy's stream id. */
  id: string;
  method: string;
  /** :path as Envoy received it: path plus query, not decoded. */
  path: string;
  /** Lower-case header names; repeated headers joined with ',' by Envoy. */
  headers: Readonly<Record<string, string>>;
  /** The buffered request body (raw_body); empty when none. */
  body: Buffer;
}

/** A header to set on the request Envoy forwards (always OVERWRITE_IF_EXISTS_OR_ADD). */
export interface HeaderSet {
  name: string;
  value: string;
}

export interface Allow {
  kind: 'allow';
  /** Headers set on the forwarded request (array credentials, routing). */
  setHeaders: HeaderSet[];
  /** Headers removed from the forwarded request (tenant token, cookies, sidecar-only headers). */
  removeHeaders: string[];
  /** Emitted as CheckResponse.dynamic_metadata (namespace envoy.filters.http.ext_authz). */
  metadata: Record<string, string>;
}

export interface Deny {
  kind: 'deny';
  /** HTTP status the driver sees (Dell's: 400 policy, 401 token, 403 ownership, 502 unknown system, 503 store down, 507 quota). */
  status: number;
  /** Response headers (content-type at least). */
  headers: HeaderSet[];
  /** Response body in the caller's format (the array's native error shape, or {error, code}). */
  body: string;
  /** Short machine-readable reason for logs/metrics, e.g. 'token-expired', 'quota-exceeded'. */
  reason: string;
  metadata: Record<string, string>;
}

export type Decision = Allow | Deny;

/**
 * Tells the decider, once, that Envoy stopped waiting for its answer, with the answer Envoy got
 * (check/server.ts). Not an AbortSignal: creating one per Check cost 2–3% of a read's CPU.
 */
export interface GiveUp {
  /** `listener` runs at most once, only if the decision outlives its budget. */
  onGiveUp(listener: (answer: Decision) => void): void;
}

/** The decision function every check server asks (pipeline.ts's createDecider; the sidecar's token injection). */
export type Decide = (request: RequestView, gaveUp?: GiveUp) => Promise<Decision>;

/** The Deny reason of an answer the service gives itself (a driver login): not a refusal, and not logged as one. */
export const LOCAL_ANSWER = 'local-answer';
