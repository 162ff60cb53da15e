// What serve's HTTP check server (httpServer.ts) and the edge's ext_authz `http_service`
// (envoy/edge.ts) agree on. Over HTTP, Envoy takes an allow's headers, its removals and its
// metadata from the answer's headers, and forwards only those its config names; it cannot set
// `:path`, and it turns a 2xx answer into an allow and a 5xx into an error. Checked against the
// pinned Envoy (1.40) by the security and goscaleio e2e tests (run over both transports) and
// src/envoy/edge.test.ts (envoy --mode validate).
import { ANSWER_HEADERS, CREDENTIAL_HEADERS } from '../arrays/registry.js';
import { ROUTING_HEADER } from '../envoy/routing.js';
import { METADATA } from '../pipeline/metadata.js';

/** The path the array executes, set on every allow; the edge's path filter moves it into `:path`. */
export const PATH_HEADER = 'x-storage-authz-path';

/**
 * The edge's health check of the HTTP check server (never decided, never an array path): 403 while
 * serving, so a tenant asking for it is simply refused; 503 while loading or draining.
 */
export const HEALTH_PATH = '/.storage-authz/health';
export const HEALTHY_STATUS = 403;

/** What Envoy puts on each call: the ext_authz timeout it will wait (ms). */
export const TIMEOUT_HEADER = 'x-envoy-expected-rq-timeout-ms';

/** Comma-separated headers Envoy removes from the forwarded request (Envoy's own name for it). */
export const HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove';

/**
 * Metadata key of a deny's real status when Envoy cannot take it as the answer's status (see
 * MAPPED_DENY_STATUSES): the answer is a 403 and the edge's local-reply mapper restores the status.
 */
export const DENY_STATUS_KEY = 'deny-status';

/**
 * Deny statuses the edge restores from DENY_STATUS_KEY: the local answers (a login: 200, 201, 204)
 * and the service's 5xx (502 unknown system, 503 store down or decision error, 507 quota). Any 4xx
 * goes as the answer's own status.
 */
export const MAPPED_DENY_STATUSES = [200, 201, 204, 500, 502, 503, 504, 507] as const;

/** Headers an allow may set on the forwarded request. */
export const UPSTREAM_HEADERS: readonly string[] = [...CREDENTIAL_HEADERS, ROUTING_HEADER, PATH_HEADER];

/** Headers a deny may give the driver. */
export const CLIENT_HEADERS: readonly string[] = ANSWER_HEADERS;

/** Answer headers the edge turns into ext_authz dynamic metadata: the same keys the gRPC Check emits. */
export const METADATA_HEADERS: readonly string[] = [...Object.values(METADATA), DENY_STATUS_KEY];
