// The answers the adapters look up on an array (pool names, volumes, storage groups' SRPs): bounded
// (a system holds up to ~131k volumes), expiring (an answer is not served forever), and shared:
// callers that miss the same key while it is being looked up wait for that one request instead of
// each sending their own. Without the sharing, each time the pool names expired under 1,000
// creates/s, every create that arrived during the pool listing listed the pools itself. A replay of
// the bench's sequence counted 388 listings, each on a new TLS connection to the array, and a
// create p99 of 2.2 s.
// lru-cache (isaacs) gives the bound, the expiry, the sharing (`fetch`) and the serve-while-refreshing
// in one well-kept package; this file only fixes how every adapter uses it.
import { LRUCache } from 'lru-cache';
import { storageKey, type ArrayCredentials, type StorageSystem } from '../resources/types.js';

/** What a lookup needs to ask the array: the system, its credentials, and the object's id there. */
export interface ArrayLookup {
  system: StorageSystem;
  credentials: ArrayCredentials;
  id: string;
}

export interface LookupCacheOptions {
  maxEntries: number;
  ttlMs: number;
  /**
   * For answers that rarely change (pool names, SRPs): an expired answer is still returned while
   * one refresh runs in the background, so a steady flow of requests never waits for the array.
   * If that refresh fails, the answer is dropped and the next caller waits for its own lookup (and
   * gets its error). Default false: callers wait for the new answer.
   */
  serveStaleWhileRefreshing?: boolean;
  now?: () => number;
}

/** Answers by system and id. */
export class LookupCache<V extends object | string> {
  private readonly entries: LRUCache<string, V, ArrayLookup>;

  constructor(
    private readonly load: (lookup: ArrayLookup) => Promise<V>,
    options: LookupCacheOptions,
  ) {
    this.entries = new LRUCache<string, V, ArrayLookup>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      // Read the clock on every check (cheap) instead of caching it for a millisecond behind a timer.
      ttlResolution: 0,
      allowStale: options.serveStaleWhileRefreshing ?? false,
      fetchMethod: (_key, _stale, { context }) => this.load(context),
      // A `set` of a key whose lookup is in flight (a pool listing names every pool) aborts that
      // lookup, and its callers would fail with "replaced": let it finish and answer them instead.
      ignoreFetchAbort: true,
      ...(options.now && { perf: { now: options.now } }),
    });
  }

  /** The cached answer, or the one lookup of it in flight (started now if there is none). */
  async get(lookup: ArrayLookup): Promise<V> {
    const value = await this.entries.fetch(keyOf(lookup.system, lookup.id), { context: lookup });
    // fetchMethod never resolves to undefined: `load` returns a value or throws.
    return value!;
  }

  /**
   * A lookup of its own, for a caller that needs the array's answer now: never joined to one in
   * flight (that may have started before the change the caller must see), and not cached (setting
   * it would cancel a lookup other callers are waiting for).
   */
  fresh(lookup: ArrayLookup): Promise<V> {
    return this.load(lookup);
  }

  /** Caches an answer learnt on the way (e.g. the other pools of a pool listing). */
  set(system: StorageSystem, id: string, value: V): void {
    this.entries.set(keyOf(system, id), value);
  }
}

const keyOf = (system: StorageSystem, id: string): string => `${storageKey(system.type, system.systemID)}|${id}`;
