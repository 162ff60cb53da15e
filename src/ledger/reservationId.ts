// Hold ids (reservations, deletions, resizes): self-describing, so any replica (after any restart) can act on an id
// that came back through Envoy's access log. The id carries the scope, the volume name, a kind marker
// and the volume's generation, which makes a stale id (from before a release, or before a delete and
// re-create of the same name) match nothing instead of touching the newer volume.
import { LedgerInputError, type HoldKind, type QuotaScope, type ReservationId } from './types.js';
import { assertScope, assertVolumeName } from './validate.js';

export interface ReservationRef {
  kind: HoldKind;
  scope: QuotaScope;
  volume: string;
  /**
   * Per-scope counter value given to the volume when it was reserved (`0` for volumes adopted from
   * Dell v1); for a resize, the counter value given to that resize.
   */
  generation: number;
}

const KIND_MARKER: Record<HoldKind, string> = { reservation: 'r', deletion: 'd', resize: 'e' };

/** Wire shape, short keys because the id travels in every access log entry. */
interface Encoded {
  k: string;
  t: string;
  s: string;
  p: string;
  n: string;
  v: string;
  g: number;
}

export function encodeReservationId(ref: ReservationRef): ReservationId {
  const encoded: Encoded = {
    k: KIND_MARKER[ref.kind],
    t: ref.scope.systemType,
    s: ref.scope.systemID,
    p: ref.scope.pool,
    n: ref.scope.tenant,
    v: ref.volume,
    g: ref.generation,
  };
  return Buffer.from(JSON.stringify(encoded)).toString('base64url');
}

/**
 * Decodes and validates an id; anything malformed, or of another kind than `expected` (when given),
 * is a LedgerInputError.
 */
export function decodeReservationId(id: unknown, expected?: HoldKind): ReservationRef {
  const what = expected ?? 'hold';
  if (typeof id !== 'string' || id === '' || !/^[A-Za-z0-9_-]+$/.test(id)) {
    throw new LedgerInputError(`${what} id is not a base64url string`);
  }
  let parsed: Partial<Encoded>;
  try {
    parsed = JSON.parse(Buffer.from(id, 'base64url').toString('utf8')) as Partial<Encoded>;
  } catch {
    throw new LedgerInputError(`${what} id does not decode to JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new LedgerInputError(`${what} id is not an object`);
  const kind = (Object.keys(KIND_MARKER) as HoldKind[]).find((candidate) => KIND_MARKER[candidate] === parsed.k);
  if (!kind || (expected !== undefined && kind !== expected)) throw new LedgerInputError(`id is not a ${what} id`);
  if (typeof parsed.g !== 'number' || !Number.isSafeInteger(parsed.g) || parsed.g < 0) {
    throw new LedgerInputError(`${what} id has no valid generation`);
  }
  const scope = { systemType: parsed.t, systemID: parsed.s, pool: parsed.p, tenant: parsed.n } as QuotaScope;
  assertScope(scope);
  assertVolumeName(parsed.v);
  return { kind, scope, volume: parsed.v, generation: parsed.g };
}
