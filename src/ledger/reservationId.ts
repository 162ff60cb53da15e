// Reservation and deletion ids: self-describing, so any replica (after any restart) can act on an id
// that came back through Envoy's access log. The id carries the scope, the volume name, a kind marker
// and the volume's generation, which makes a stale id (from before a release, or before a delete and
// re-create of the same name) match nothing instead of touching the newer volume.
import { LedgerInputError, type QuotaScope, type ReservationId } from './types.js';
import { assertScope, assertVolumeName } from './validate.js';

/** `reserve` hands out reservations, `beginDelete` deletions; one is never accepted as the other. */
export type ReservationKind = 'reservation' | 'deletion';

export interface ReservationRef {
  kind: ReservationKind;
  scope: QuotaScope;
  volume: string;
  /** Per-scope counter value given to the volume when it was reserved; `0` for volumes adopted from Dell v1. */
  generation: number;
}

const KIND_MARKER: Record<ReservationKind, string> = { reservation: 'r', deletion: 'd' };

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

/** Decodes and validates an id; anything malformed or of the other kind is a LedgerInputError. */
export function decodeReservationId(id: unknown, expected: ReservationKind): ReservationRef {
  if (typeof id !== 'string' || id === '' || !/^[A-Za-z0-9_-]+$/.test(id)) {
    throw new LedgerInputError(`${expected} id is not a base64url string`);
  }
  let parsed: Partial<Encoded>;
  try {
    parsed = JSON.parse(Buffer.from(id, 'base64url').toString('utf8')) as Partial<Encoded>;
  } catch {
    throw new LedgerInputError(`${expected} id does not decode to JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new LedgerInputError(`${expected} id is not an object`);
  if (parsed.k !== KIND_MARKER[expected]) throw new LedgerInputError(`id is not a ${expected} id`);
  if (typeof parsed.g !== 'number' || !Number.isSafeInteger(parsed.g) || parsed.g < 0) {
    throw new LedgerInputError(`${expected} id has no valid generation`);
  }
  const scope = { systemType: parsed.t, systemID: parsed.s, pool: parsed.p, tenant: parsed.n } as QuotaScope;
  assertScope(scope);
  assertVolumeName(parsed.v);
  return { kind: expected, scope, volume: parsed.v, generation: parsed.g };
}
