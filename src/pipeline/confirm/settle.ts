// Settlement of holds (src/ledger/README.md "Settlement"): the array is the truth, the access log a
// fast hint. Each hold kind (reservation, deletion, resize) has one rule for "the array said 2xx"
// and one for "the array was asked and has (or has not) the volume"; an access-log outcome that
// nobody can read (Envoy's own failure) settles nothing and is left to the resolver.
import type { AdapterRegistry } from '../../arrays/registry.js';
import type { VolumeInfo } from '../../arrays/types.js';
import { decodeReservationId, type ReservationRef } from '../../ledger/reservationId.js';
import type { HoldKind, Ledger, PendingHold, QuotaScope, ReservationId } from '../../ledger/types.js';
import { storageKey, type ResourceSource } from '../../resources/types.js';

/**
 * What an access-log entry says about the request: `succeeded` (the array's 2xx), `refused` (the
 * array's own non-2xx: no Envoy response flag), `unknown` (Envoy answered itself — 504 route
 * timeout, upstream reset, connection failure — or there is no status at all: the array may or may
 * not have acted).
 */
export type Outcome = 'succeeded' | 'refused' | 'unknown';

/** Envoy's route timeout answer; the array's own 504 cannot be told apart from it, so it is unknown too. */
const GATEWAY_TIMEOUT = 504;
/**
 * Envoy's flag for a request its circuit breaker refused (UO): the array's cluster was at its
 * maxConcurrentRequests, so the request was never sent. Like the array's own refusal, it settles.
 */
const UPSTREAM_OVERFLOW = 'upstream_overflow';

export function outcomeOf(responseCode: number | undefined, envoyFlags: readonly string[]): Outcome {
  if (envoyFlags.length === 1 && envoyFlags[0] === UPSTREAM_OVERFLOW) return 'refused';
  if (responseCode === undefined || responseCode === 0 || responseCode === GATEWAY_TIMEOUT || envoyFlags.length > 0) return 'unknown';
  return responseCode >= 200 && responseCode < 300 ? 'succeeded' : 'refused';
}

/**
 * The array's answer about one volume of a scope's system: the volume, or undefined when the array
 * has none. Throws when nobody can tell (system unknown, array unreachable): the hold stays.
 */
export type FindVolume = (scope: QuotaScope, volume: string) => Promise<VolumeInfo | undefined>;

/** FindVolume through the configured Storage objects and their adapters. */
export function findOnArray(resources: ResourceSource, adapters: AdapterRegistry): FindVolume {
  return async (scope, volume) => {
    const key = storageKey(scope.systemType, scope.systemID);
    const system = resources.current().storage.get(key);
    const adapter = adapters.get(scope.systemType);
    if (!system || !adapter) throw new Error(`storage ${key} is not configured; its holds stay unsettled`);
    return adapter.findVolume(system, await resources.credentials(system), volume);
  };
}

export interface Settler {
  ledger: Ledger;
  find: FindVolume;
}

/**
 * `since` (the resolver): when the hold was last relied on, as `pending()` listed it. Without it (an
 * access-log refusal) a hold another request relies on (claimed) is kept for the resolver.
 */
type Rule = (settler: Settler, ref: ReservationRef, id: ReservationId, reason: string, since?: number) => Promise<void>;

/**
 * The array's volume of this name is this scope's: it is in the scope's pool and no other scope
 * (another tenant, another pool) holds the name. Else "name already in use" was about someone
 * else's volume and proves nothing about this request.
 */
async function isOurs(settler: Settler, ref: ReservationRef, found: VolumeInfo): Promise<boolean> {
  if (found.poolName !== ref.scope.pool) return false;
  const holders = await settler.ledger.holders(ref.scope.systemType, ref.scope.systemID, ref.volume);
  return holders.every((scope) => scope.tenant === ref.scope.tenant && scope.pool === ref.scope.pool);
}

/** "The array said 2xx" per hold kind. */
const SUCCEEDED: Record<HoldKind, Rule> = {
  reservation: async (settler, ref, id, reason) => {
    if (await settler.ledger.commit(id)) return;
    // Nothing reserved under this id any more. Still in the ledger (the other answer of a duplicate
    // pair committed it, or a newer hold): settled already. Gone: released by an earlier "not found"
    // while the array was still creating it, so the array's volume is charged now.
    if (await settler.ledger.owns(ref.scope, ref.volume)) return;
    const found = await settler.find(ref.scope, ref.volume);
    if (found && (await isOurs(settler, ref, found))) await settler.ledger.recordPresent(ref.scope, ref.volume, found.sizeKiB, reason);
  },
  deletion: async ({ ledger }, _ref, id) => {
    await ledger.commitDelete(id);
  },
  resize: async ({ ledger }, _ref, id) => {
    await ledger.commitResize(id);
  },
};

/**
 * "The array was asked" per hold kind: what it has now settles the hold, and only the hold — if it
 * was settled meanwhile (a 2xx committed it, a delete freed it), the answer is about that, not it.
 */
const AGAINST_ARRAY: Record<HoldKind, Rule> = {
  reservation: async (settler, ref, id, _reason, since) => {
    const found = await settler.find(ref.scope, ref.volume);
    await (found && (await isOurs(settler, ref, found)) ? settler.ledger.commit(id) : settler.ledger.release(id, { since }));
  },
  deletion: async (settler, ref, id, _reason, since) => {
    const found = await settler.find(ref.scope, ref.volume);
    await (found ? settler.ledger.abortDelete(id, { since }) : settler.ledger.commitDelete(id));
  },
  // The increase is freed, then the charge becomes the size the array reports (grown or not).
  resize: async (settler, ref, id, reason, since) => {
    const found = await settler.find(ref.scope, ref.volume);
    if ((await settler.ledger.abortResize(id, { since })) && found) await settler.ledger.recordPresent(ref.scope, ref.volume, found.sizeKiB, reason);
  },
};

/**
 * One hold named by an access-log entry. `owner`: the request made the hold (else it only found it:
 * its 2xx is evidence, its failure says nothing about the owner's request).
 */
export async function settleLogged(settler: Settler, id: ReservationId, owner: boolean, outcome: Outcome): Promise<void> {
  if (outcome === 'unknown' || (outcome === 'refused' && !owner)) return;
  const ref = decodeReservationId(id);
  if (outcome === 'succeeded') await SUCCEEDED[ref.kind](settler, ref, id, 'the array confirmed it');
  else await AGAINST_ARRAY[ref.kind](settler, ref, id, 'the array refused the request; asked whether the volume exists');
}

/**
 * A hold nobody settled in time (resolver): the array is asked. A reservation is released only if
 * no request found it after `since` (the time `pending()` listed): such a request may still be
 * forwarded to the array, and the hold is settled once it is older than the threshold again.
 */
export async function settleAgainstArray(settler: Settler, { id, since }: Pick<PendingHold, 'id' | 'since'>, reason: string): Promise<void> {
  const ref = decodeReservationId(id);
  await AGAINST_ARRAY[ref.kind](settler, ref, id, reason, since);
}
