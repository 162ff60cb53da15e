// Confirmation of reservations and deletions (DESIGN.md §2): Envoy's access log reports the array's
// answer to each allowed request; 2xx commits what the Check held, anything else undoes it. A hold
// whose log entry never arrives (restart, lost stream) is resolved by asking the array whether the
// volume exists. The same stream reports the array refusing the credentials an allow attached (401),
// so the adapter renews its session at once rather than when it ages out.
import type { AccessLogRecord } from '../../check/server.js';
import type { AdapterRegistry } from '../../arrays/registry.js';
import type { Ledger } from '../../ledger/types.js';
import { storageKey, type ResourceSource } from '../../resources/types.js';
import { silentLogger, type Logger } from '../../telemetry/log.js';
import { METADATA } from '../metadata.js';

type Outcome = 'succeeded' | 'failed' | 'unknown';

/**
 * No status (0 or absent) means the client went away before the array answered: the array may or
 * may not have acted, so nobody can say yet.
 */
function outcomeOf(code: number | undefined): Outcome {
  if (code === undefined || code === 0) return 'unknown';
  return code >= 200 && code < 300 ? 'succeeded' : 'failed';
}

/** Where a refused session is reported: the system named in the metadata, and its adapter. */
export interface ArraySessions {
  resources: ResourceSource;
  adapters: AdapterRegistry;
  logger?: Logger;
}

/**
 * The access-log callback for the Check server: 2xx commits, any other status undoes. With no
 * status, reservations stay pending for the resolver (which asks the array), and a deletion is
 * aborted: the volume stays charged rather than capacity being freed twice. With `arrays`, a 401
 * from the array also reports the refused session to the adapter.
 */
export function confirmFromAccessLog(ledger: Ledger, arrays?: ArraySessions): (record: AccessLogRecord) => Promise<void> {
  return async ({ metadata, responseCode }) => {
    if (responseCode === 401 && arrays) reportRefusedSession(arrays, metadata);
    const outcome = outcomeOf(responseCode);
    const reservations = metadata[METADATA.reservation]?.split(',').filter((id) => id !== '') ?? [];
    if (outcome !== 'unknown') {
      for (const id of reservations) await (outcome === 'succeeded' ? ledger.commit(id) : ledger.release(id));
    }
    const deletion = metadata[METADATA.deletion];
    if (deletion) await (outcome === 'succeeded' ? ledger.commitDelete(deletion) : ledger.abortDelete(deletion));
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
  resources: ResourceSource;
  adapters: AdapterRegistry;
  /** A reservation this old has missed its access-log entry (ms). */
  olderThanMs: number;
  intervalMs: number;
  logger?: Logger;
}

/** One pass: every stale pending reservation is committed if its volume exists on the array, else released. */
export async function resolvePending(options: PendingResolverOptions): Promise<void> {
  const logger = options.logger ?? silentLogger;
  for (const pending of await options.ledger.pending(options.olderThanMs)) {
    const { systemType, systemID } = pending.scope;
    const system = options.resources.current().storage.get(storageKey(systemType, systemID));
    const adapter = options.adapters.get(systemType);
    // Without the system or its adapter nobody can tell; keep it pending rather than guess.
    if (!system || !adapter) {
      logger.warn({ system: storageKey(systemType, systemID), volume: pending.volume }, 'pending reservation for an unknown system');
      continue;
    }
    try {
      const exists = await adapter.volumeExists(system, await options.resources.credentials(system), pending.volume);
      await (exists ? options.ledger.commit(pending.reservation) : options.ledger.release(pending.reservation));
      logger.info({ volume: pending.volume, tenant: pending.scope.tenant, committed: exists }, 'resolved pending reservation');
    } catch (error) {
      logger.warn({ err: error, volume: pending.volume }, 'pending reservation not resolved; will retry');
    }
  }
}

/** Runs resolvePending every `intervalMs` (a tick during a running pass is skipped) until stopped. */
export function startPendingResolver(options: PendingResolverOptions): { stop(): Promise<void> } {
  const logger = options.logger ?? silentLogger;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= resolvePending(options)
      .catch((error: unknown) => logger.warn({ err: error }, 'pending reservations not listed; will retry'))
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
