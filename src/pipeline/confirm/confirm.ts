// Confirmation of holds (DESIGN.md §2, src/ledger/README.md "Settlement"): Envoy's access log
// reports each allowed request's outcome, and settle.ts applies it to the holds the Check made
// (and to the holds it only found, as hints). A hold the log cannot settle (Envoy's own failure, a
// lost entry) is settled by the resolver, which asks the array once the hold is older than the
// edge's route timeout plus a margin. The same stream reports the array refusing the credentials an
// allow attached (401), so the adapter renews its session at once rather than when it ages out.
import type { AccessLogRecord } from '../../check/server.js';
import type { AdapterRegistry } from '../../arrays/registry.js';
import type { Ledger } from '../../ledger/types.js';
import type { ResourceSource } from '../../resources/types.js';
import { silentLogger, type Logger } from '../../telemetry/log.js';
import { decodeReservationId } from '../../ledger/reservationId.js';
import { METADATA } from '../metadata.js';
import { keyedQueue } from './keyedQueue.js';
import { findOnArray, outcomeOf, settleAgainstArray, settleLogged, type FindVolume, type Settler } from './settle.js';

/** Where a refused session is reported, and where the array is asked about volumes. */
export interface ArraySessions {
  resources: ResourceSource;
  adapters: AdapterRegistry;
  logger?: Logger;
}

const ids = (value: string | undefined): string[] => value?.split(',').filter((id) => id !== '') ?? [];

/**
 * Access-log entries settled at once. Enough for a whole message of Envoy's log (16 KiB or 0.1 s of
 * entries) to share its ledger round trips; few enough that a burst of refusals, each of which asks
 * the array about its volume, does not open a connection to the array per entry.
 */
const SETTLING_AT_ONCE = 64;

/** What orders two entries: the volume a hold is about (an id nobody can read orders by itself). */
function volumeKey(id: string): string {
  try {
    const { scope, volume } = decodeReservationId(id);
    return `${scope.systemType}:${scope.systemID}:${volume}`;
  } catch {
    return id;
  }
}

/**
 * The access-log callback for the Check server. Every hold and hint of the entry is settled by its
 * outcome (settle.ts); a hold whose settlement fails (the array cannot be asked, the store is down)
 * stays for the resolver. With a 401 from the array, the refused session is reported to the adapter.
 * Entries about different volumes are settled side by side; those about one volume in the order
 * they arrive, on whichever of Envoy's streams.
 */
export function confirmFromAccessLog(ledger: Ledger, arrays: ArraySessions): (record: AccessLogRecord) => Promise<void> {
  const logger = arrays.logger ?? silentLogger;
  const settler: Settler = { ledger, find: findOnArray(arrays.resources, arrays.adapters) };
  const queue = keyedQueue(SETTLING_AT_ONCE);
  return async ({ metadata, responseCode, envoyFlags, requestId }) => {
    if (responseCode === 401) reportRefusedSession(arrays, metadata);
    const outcome = outcomeOf(responseCode, envoyFlags);
    const entries = [...ids(metadata[METADATA.holds]).map((id) => ({ id, owner: true })), ...ids(metadata[METADATA.hints]).map((id) => ({ id, owner: false }))];
    if (entries.length === 0) return;
    await queue([...new Set(entries.map(({ id }) => volumeKey(id)))], async () => {
      for (const { id, owner } of entries) {
        try {
          await settleLogged(settler, id, owner, outcome);
        } catch (error) {
          logger.warn({ err: error, requestId, outcome }, 'hold not settled from the access log; the resolver settles it');
        }
      }
    });
  };
}

/**
 * The array answered 401 to a request forwarded with the credential tagged in the metadata: the
 * adapter drops that session if it is still current, and the next request logs in again. Never
 * throws, so the entry's reservations are settled whatever an adapter does.
 */
function reportRefusedSession({ resources, adapters, logger = silentLogger }: ArraySessions, metadata: Record<string, string>): void {
  const tag = metadata[METADATA.sessionTag];
  const key = metadata[METADATA.system];
  if (!tag || !key) return;
  const system = resources.current().storage.get(key);
  const adapter = system && adapters.get(system.type);
  if (!system || !adapter?.credentialsRejected) return;
  try {
    if (adapter.credentialsRejected(system, tag)) logger.info({ storage: system.name }, 'array refused its session on a forwarded request; the next request logs in again');
  } catch (error) {
    logger.warn({ err: error, storage: system.name }, 'refused array session not renewed; it is renewed when it ages out');
  }
}

export interface PendingResolverOptions {
  ledger: Ledger;
  /** How the array is asked (findOnArray in production). */
  find: FindVolume;
  /**
   * A hold this old has missed its access-log entry, or the entry could not settle it (ms). Longer
   * than the edge's route timeout (serve refuses less), so the request is over when the array is asked.
   */
  olderThanMs: number;
  intervalMs: number;
  logger?: Logger;
}

/** One pass: every hold older than `olderThanMs` is settled against the array (settle.ts). */
export async function resolvePending(options: PendingResolverOptions): Promise<void> {
  const logger = options.logger ?? silentLogger;
  const settler: Settler = { ledger: options.ledger, find: options.find };
  for (const hold of await options.ledger.pending(options.olderThanMs)) {
    try {
      await settleAgainstArray(settler, hold, `unsettled after ${options.olderThanMs} ms; asked the array`);
      logger.info({ kind: hold.kind, volume: hold.volume, tenant: hold.scope.tenant }, 'resolved pending hold');
    } catch (error) {
      // Nobody can tell (unknown system, array unreachable): keep it rather than guess.
      logger.warn({ err: error, kind: hold.kind, volume: hold.volume }, 'pending hold not resolved; will retry');
    }
  }
}

/** Runs resolvePending every `intervalMs` (a tick during a running pass is skipped) until stopped. */
export function startPendingResolver(options: PendingResolverOptions): { stop(): Promise<void> } {
  const logger = options.logger ?? silentLogger;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= resolvePending(options)
      .catch((error: unknown) => logger.warn({ err: error }, 'pending holds not listed; will retry'))
      .finally(() => (running = undefined));
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
