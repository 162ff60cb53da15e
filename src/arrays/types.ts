// The face every array type shows the pipeline. One folder per array type implements it
// (src/arrays/<type>/), so adding an array type is adding a folder and one line in the registry.
import type { ArrayCredentials, StorageSystem, SystemType } from '../resources/types.js';
import type { HeaderSet, RequestView } from '../pipeline/types.js';

/** What a request means to the array, decided from method + normalised path + body alone (no I/O). */
export type Operation =
  | { kind: 'login' } // answered locally: the driver never needs or learns array credentials
  | { kind: 'read' } // passed through
  | { kind: 'volume-create'; poolId: string; sizeKiB: number; name: string }
  | { kind: 'volume-delete'; volumeId: string }
  /** An expansion to `newSizeKiB` (the array's granularity applied by the classifier, like a create's size). */
  | { kind: 'volume-expand'; volumeId: string; newSizeKiB: number }
  /** A new volume `name` made from `volumeId` (PowerStore clone): the size of its source. */
  | { kind: 'volume-clone'; volumeId: string; name: string }
  /** Overwrite a volume's content with another's (snapshot restore): both must be the tenant's. */
  | { kind: 'volume-restore'; volumeId: string; sourceVolumeId: string }
  /**
   * A charge `name` of `sizeKiB` that belongs to the volume `volumeId` (a PowerScale SmartQuota on its
   * directory: its hard threshold): held to the create policy on the volume's pool, made only by the
   * volume's owner, settled and freed like a volume of that name.
   */
  | { kind: 'volume-quota'; volumeId: string; name: string; sizeKiB: number }
  | { kind: 'volume-map'; volumeId: string }
  | { kind: 'volume-unmap'; volumeId: string }
  | { kind: 'snapshot-create'; snapshots: { volumeId: string; snapshotName: string }[] }
  | { kind: 'sdc-approve' }
  | { kind: 'unknown-mutation' } // denied by default: fail closed
  | { kind: 'invalid'; status: number; message: string }; // malformed body etc.

export interface Classified {
  /** The single normalised path: both classified and forwarded (dot segments, '//', encoded '/', trailing '/'). */
  path: string;
  operation: Operation;
}

/** A volume as the array knows it (enrich phase, settlement, inventory). */
export interface VolumeInfo {
  id: string;
  name: string;
  sizeKiB: number;
  poolId: string;
  poolName: string;
  /**
   * Its owner has deleted it, and the array keeps it for the driver to finish (PowerMax's `_DEL`
   * rename): taking it off hosts and off the array needs no owner; nothing else may touch it.
   */
  softDeleted?: boolean;
  /**
   * The array can lower its size down to this without the data it holds outgrowing the charge (a
   * PowerScale SmartQuota: its usage). Absent: it cannot shrink (block volumes), a decrease is refused.
   */
  shrinkableToKiB?: number;
  /**
   * The array puts no limit on its capacity (a PowerScale directory without a hard quota): it is
   * charged nothing, and a tenant may use it only where its role allows that (`requireHardQuota: false`).
   */
  unbounded?: boolean;
}

/** A local answer for requests the array must never see (PowerFlex /api/login). */
export interface LocalAnswer {
  status: number;
  headers: HeaderSet[];
  body: string;
}

export interface ArrayAdapter {
  readonly type: SystemType;
  /**
   * Pure: method + raw :path + body → normalised path and operation. `systemID` is the array the
   * request is routed to (an API that names arrays in its paths must name this one).
   */
  classify(request: Pick<RequestView, 'method' | 'path' | 'body' | 'headers'>, systemID: string): Classified;
  /** Local answer for a 'login' operation at this (normalised) path. */
  localAnswer(operation: Operation, path: string): LocalAnswer | undefined;
  /** Pool id → pool name, through the array with its own credentials (cached). */
  poolName(system: StorageSystem, credentials: ArrayCredentials, poolId: string): Promise<string>;
  /**
   * Volume id → name/size/pool, through the array (cached). `fresh` skips the cache: an operation
   * charged by the volume's size (a snapshot, an expansion) must not see it as it was before an
   * expansion the cache missed.
   */
  volume(system: StorageSystem, credentials: ArrayCredentials, volumeId: string, lookup?: { fresh: boolean }): Promise<VolumeInfo>;
  /**
   * The volume of this name as the array has it now, or undefined when the array says it has none
   * (settles holds; never cached). Anything else (unreachable, refused) throws: nobody can tell.
   */
  findVolume(system: StorageSystem, credentials: ArrayCredentials, name: string): Promise<VolumeInfo | undefined>;
  /**
   * Every volume (and snapshot) on the system, with pool names (reconciliation; never cached), as the
   * array's listing arrives: an array holds up to ~10^5 volumes, which are never all held at once.
   * `pools`: the pools the system's roles name (PowerScale lists the directories in each isiPath).
   */
  inventory(system: StorageSystem, credentials: ArrayCredentials, pools?: readonly string[]): AsyncIterable<VolumeInfo>;
  /** Headers that carry the array's own credentials on the forwarded request (e.g. PowerFlex Basic ':'+token). */
  authorize(system: StorageSystem, credentials: ArrayCredentials): Promise<readonly HeaderSet[]>;
  /**
   * The array answered 401 to a request forwarded with the credential whose `sessionTag` (of the
   * headers `authorize` returned) is given: drop that session if it is still the current one, so the
   * next request authenticates afresh instead of carrying a dead credential. Returns whether a
   * session was dropped. Absent for arrays whose credentials are not sessions.
   */
  credentialsRejected?(system: StorageSystem, sessionTag: string): boolean;
  /**
   * Request headers (lower case) the array's API needs from the client, e.g. `accept`, `content-type`.
   * Every other header a tenant sends is removed before forwarding, except the credential headers
   * `authorize` sets and the few Envoy itself needs.
   */
  readonly forwardedHeaders: readonly string[];
  /** An error body in the array's native shape. */
  errorBody(status: number, message: string): { contentType: string; body: string };
  /**
   * Logs in with these credentials and checks that the array at the endpoint is this system (what
   * Dell's storage-service does before it stores a system); throws an ArrayCheckError naming what
   * failed. Absent for array types that cannot be checked yet.
   */
  checkSystem?(system: StorageSystem, credentials: ArrayCredentials): Promise<void>;
}

/** Why a storage system did not pass its check: the credentials, the system ID, or the array could not be asked. */
export class ArrayCheckError extends Error {
  constructor(
    readonly failed: 'credentials' | 'system-id' | 'unreachable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ArrayCheckError';
  }
}

/**
 * A lookup the pipeline needs (pool name, volume) could not be answered: `status` and `message` are
 * what the driver should see in the array's error shape (e.g. 400 unknown pool, the array's own
 * status for a missing volume, 502 when the array is unreachable). Never an allow.
 */
export class ArrayLookupError extends Error {
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ArrayLookupError';
  }
}

/** The array refused the service's own login (its answer was 401/403): the stored credentials are wrong. */
export class ArrayLoginRefusedError extends ArrayLookupError {
  override name = 'ArrayLoginRefusedError';
}
