// Confirmation of reservations and deletions (DESIGN.md §2): Envoy's access log reports the array's
// answer to each allowed request; 2xx commits what the Check held, anything else undoes it. A hold
// whose log entry never arrives (restart, lost stream) is resolved by asking the array whether the
// volume exists.
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

/**
 * The access-log callback for the Check server: 2xx commits, any other status undoes. With no
 * status, reservations stay pending for the resolver (which asks the array), and a deletion is
 * aborted: the volume stays charged rather than capacity being freed twice.
 */
export function confirmFromAccessLog(ledger: Ledger): (record: AccessLogRecord) => Promise<void> {
  return async ({ metadata, responseCode }) => {
    const outcome = outcomeOf(responseCode);
    const reservations = metadata[METADATA.reservation]?.split(',').filter((id) => id !== '') ?? [];
    if (outcome !== 'unknown') {
      for (const id of reservations) await (outcome === 'succeeded' ? ledger.commit(id) : ledger.release(id));
    }
    const deletion = metadata[METADATA.deletion];
    if (deletion) await (outcome === 'succeeded' ? ledger.commitDelete(deletion) : ledger.abortDelete(deletion));
  };
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
