// Stopping an edge pod without failing the drivers' requests (the chart's preStop hook of both
// containers, `storage-authz drain-edge`). Envoy exits at SIGTERM at once: every request in flight
// (a volume create on the array, its access-log settlement) is reset, and new connections keep
// arriving until every node has removed the pod from the Service. Envoy drains only when told to over
// its admin interface, so before Kubernetes sends SIGTERM this asks it to (`drain_listeners?graceful`:
// answers say `Connection: close`, listeners close after its --drain-time-s; `skip_exit`: the
// process stays for the requests still running), then waits at least `minMs` (the Service's
// endpoints being updated) and until no tenant request is running, or `timeoutMs`. serve's
// container runs the same hook, so serve is still answering checks and access logs for as long as
// Envoy has requests; asking twice for the drain is harmless.
import { adminAddress, adminRequest, adminStats, describeAdmin, exactStat, type EnvoyAdmin } from './admin.js';
import { EDGE_STAT_PREFIX } from './edge.js';

/**
 * The edge Envoy's command-line half of the drain: discourage every connection at once and keep
 * accepting new ones for `timeoutSeconds` (the hook's timeout: connections the Service still sends
 * meanwhile are served, then told to close). The chart passes the same flags.
 */
export const envoyDrainArgs = (timeoutSeconds: number): string[] => ['--drain-strategy', 'immediate', '--drain-time-s', String(timeoutSeconds)];

/** The gauge of tenant requests in flight on the edge listener (the stats listener has a prefix of its own). */
export const ACTIVE_REQUESTS_STAT = `http.${EDGE_STAT_PREFIX}.downstream_rq_active`;

export const DEFAULT_DRAIN_MIN_MS = 5000;
export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 20;

export interface DrainOptions {
  /** Envoy's admin interface, `host:port`. */
  admin: string;
  /** Wait at least this long, whatever is running (default DEFAULT_DRAIN_MIN_MS). */
  minMs?: number;
  /** Return after this long even with requests still running (default DEFAULT_DRAIN_TIMEOUT_SECONDS). */
  timeoutMs?: number;
  /** How often the gauge is read (default 250). */
  pollMs?: number;
  /** Told each reading of the gauge. */
  onReading?: (active: number) => void;
}

export interface DrainResult {
  /** No tenant request was running when it returned. */
  drained: boolean;
  /** Requests still running at the end (0 when drained). */
  active: number;
  waitedMs: number;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function edgeAdmin(address: string): EnvoyAdmin {
  const admin = adminAddress(address);
  if (!admin) throw new Error(`the edge Envoy's admin interface ${JSON.stringify(address)} is not host:port`);
  return admin;
}

const unreachable = (admin: EnvoyAdmin) => new Error(`the edge Envoy's admin interface at ${describeAdmin(admin)} cannot be reached`);

/** Tenant requests running on the edge now. */
export async function activeRequests(address: string): Promise<number> {
  const admin = edgeAdmin(address);
  const stats = await adminStats(admin, exactStat(ACTIVE_REQUESTS_STAT));
  if (!stats) throw unreachable(admin);
  const stat = stats.find((s) => s.name === ACTIVE_REQUESTS_STAT);
  if (typeof stat?.value !== 'number') throw new Error(`Envoy admin has no ${ACTIVE_REQUESTS_STAT} gauge (is ${address} the edge Envoy?)`);
  return stat.value;
}

/** The admin path that starts Envoy's graceful drain and keeps the process for the requests still running. */
export const GRACEFUL_DRAIN_PATH = '/drain_listeners?graceful&skip_exit';

/** Starts Envoy's graceful drain and waits as described above; rejects only when Envoy's admin cannot be reached at the start. */
export async function drainEdge(options: DrainOptions): Promise<DrainResult> {
  const started = Date.now();
  const admin = edgeAdmin(options.admin);
  const answer = await adminRequest(admin, GRACEFUL_DRAIN_PATH, 'POST');
  if (!answer) throw unreachable(admin);
  if (answer.status !== 200) throw new Error(`Envoy admin POST ${GRACEFUL_DRAIN_PATH}: ${answer.status} ${answer.body.slice(0, 200)}`);
  return waitForRequests(() => activeRequests(options.admin), options, started);
}

/**
 * Reads `active` (the requests running on a draining Envoy) until it is 0 and `minMs` has passed
 * since `started`, or until `timeoutMs`; the edge's hook and the sidecar's stop share it. A reading
 * that fails (Envoy gone) counts as nothing running: there is nothing left to wait for.
 */
export async function waitForRequests(active: () => Promise<number>, options: Omit<DrainOptions, 'admin'>, started = Date.now()): Promise<DrainResult> {
  const { minMs = DEFAULT_DRAIN_MIN_MS, timeoutMs = DEFAULT_DRAIN_TIMEOUT_SECONDS * 1000, pollMs = 250 } = options;
  for (;;) {
    const waited = Date.now() - started;
    const running = await active().catch(() => 0);
    options.onReading?.(running);
    if ((running === 0 && waited >= minMs) || waited >= timeoutMs) return { drained: running === 0, active: running, waitedMs: waited };
    await delay(Math.min(pollMs, Math.max(1, (running === 0 ? minMs : timeoutMs) - waited)));
  }
}
