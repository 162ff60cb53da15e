// Enrich phase: the few facts an operation needs from the array itself (pool names, the volumes it
// touches), fetched by the adapter with the array's own credentials; which facts is the operation's
// table entry (pipeline/operations.ts). A lookup that fails denies (fail closed): without it
// neither quota nor ownership can be checked.
import { ArrayLookupError } from '../../arrays/types.js';
import { reject, type Rejection } from '../response/deny.js';

/** Runs an entry's lookups; an array that refuses or cannot be reached becomes the driver's error. */
export async function enrich<E>(lookups: () => Promise<E>): Promise<E | Rejection> {
  try {
    return await lookups();
  } catch (error) {
    if (error instanceof ArrayLookupError) return reject(error.status, 'array-lookup', error.message);
    const message = error instanceof Error ? error.message : String(error);
    return reject(502, 'array-unreachable', `array lookup failed: ${message}`);
  }
}
