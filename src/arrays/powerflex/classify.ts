// What a PowerFlex gateway request means (reference §3.1, §3.5): pure, no I/O.
//
// Case: the gateway's own routing is case-sensitive, but nothing guarantees that of every gateway
// version or of a proxy in front of it. Routes are therefore matched on a lower-cased copy of the
// normalised path, so a case variant of a mutating route (`/API/instances/volume::1/action/REMOVEVOLUME`)
// is classified as that mutation and checked as such; the original spelling is what is forwarded.
// Any other mutating request is 'unknown-mutation' (fail closed), so a case trick can at worst turn
// a read into a denial, never a mutation into a read.
import type { Classified, Operation } from '../types.js';
import type { RequestView } from '../../pipeline/types.js';
import { knownFields, strictJsonObject } from '../json.js';
import { normalisePath } from '../path.js';

/** PowerFlex allocates volumes in multiples of 8 GiB; the quota is charged what the array allocates. */
export const VOLUME_GRANULARITY_KIB = 8 * 1024 * 1024;

/** Methods that never change array state; every other method is classified as a possible mutation. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/** Session endpoints that end a login: `/api/logout` (REST) and `/api/gatewayLogout` (gateway). */
const LOGOUTS = new Set(['logout', 'gatewaylogout']);

/** POST actions that only query (goscaleio looks volumes up by name with queryIdByKey). */
const QUERY_ACTIONS = new Set(['queryidbykey', 'queryselectedstatistics', 'querybyselectedids']);

// A Map, not an object literal: a path segment like `constructor` must not find a prototype member.
const VOLUME_ACTIONS = new Map<string, 'volume-delete' | 'volume-map' | 'volume-unmap'>([
  ['removevolume', 'volume-delete'],
  ['addmappedsdc', 'volume-map'],
  ['removemappedsdc', 'volume-unmap'],
]);

/** The body fields the decision reads: a case variant of one is refused (the array might read it instead). */
const BODY_FIELDS = knownFields(['name', 'storagePoolId', 'volumeSizeInKb', 'snapshotDefs', 'volumeId', 'snapshotName']);

/** PowerFlex object ids are hex strings (e.g. `ae376b0300000000`); anything else never names a volume. */
const OBJECT_ID = /^[0-9A-Za-z]{1,64}$/;

export function classifyPowerFlex(request: Pick<RequestView, 'method' | 'path' | 'body'>): Classified {
  const normalised = normalisePath(request.path);
  if (!normalised.ok) return { path: request.path, operation: invalid(normalised.reason) };
  return { path: normalised.path, operation: operationOf(request.method.toUpperCase(), normalised.pathname, request.body) };
}

function operationOf(method: string, pathname: string, body: Buffer): Operation {
  const original = pathname.split('/').filter((segment) => segment !== '');
  const lower = original.map((segment) => segment.toLowerCase());

  // The driver's login is answered locally whatever the method: it must never learn array credentials.
  if (lower.length === 2 && lower[0] === 'api' && lower[1] === 'login') return { kind: 'login' };
  // A logout, even a GET, would end the service's own gateway session, shared by every tenant.
  if (lower.length === 2 && lower[0] === 'api' && LOGOUTS.has(lower[1]!)) return { kind: 'unknown-mutation' };
  if (READ_METHODS.has(method)) return { kind: 'read' };
  if (method !== 'POST' || lower[0] !== 'api') return { kind: 'unknown-mutation' };

  // /api/types/<Type>/instances/ and /api/types/<Type>/instances/action/<query>/
  if (lower[1] === 'types' && lower[3] === 'instances') {
    if (lower.length === 4 && lower[2] === 'volume') return volumeCreate(body);
    if (lower.length === 6 && lower[4] === 'action' && QUERY_ACTIONS.has(lower[5]!)) return { kind: 'read' };
    return { kind: 'unknown-mutation' };
  }

  // /api/instances/<Type>::<id>/action/<verb>/
  if (lower.length === 5 && lower[1] === 'instances' && lower[3] === 'action') {
    const [type, id] = splitObject(original[2]!);
    const verb = lower[4]!;
    const volumeAction = VOLUME_ACTIONS.get(verb);
    if (type === 'volume' && volumeAction !== undefined) {
      if (!OBJECT_ID.test(id)) return invalid(`invalid volume id in path: ${JSON.stringify(id)}`);
      return { kind: volumeAction, volumeId: id };
    }
    if (type === 'system' && verb === 'approvesdc') return { kind: 'sdc-approve' };
    if (type === 'system' && verb === 'snapshotvolumes') return snapshotCreate(body);
  }
  return { kind: 'unknown-mutation' };
}

/** `Volume::ae37…` → ['volume', 'ae37…']: the type lower-cased for matching, the id as sent. */
function splitObject(segment: string): [type: string, id: string] {
  const at = segment.indexOf('::');
  return at === -1 ? [segment.toLowerCase(), ''] : [segment.slice(0, at).toLowerCase(), segment.slice(at + 2)];
}

/** `POST /api/types/Volume/instances/` with `{"name","storagePoolId","volumeSizeInKb":"8388608",…}`. */
function volumeCreate(body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { name, storagePoolId, volumeSizeInKb } = parsed;
  if (typeof name !== 'string' || name === '') return invalid('volume create: "name" is required');
  if (typeof storagePoolId !== 'string' || !OBJECT_ID.test(storagePoolId)) {
    return invalid('volume create: "storagePoolId" is required and must be a PowerFlex pool id');
  }
  const requestedKiB = wholeKiB(volumeSizeInKb);
  if (requestedKiB === undefined) {
    return invalid(`volume create: "volumeSizeInKb" must be a positive whole number of KiB, got ${JSON.stringify(volumeSizeInKb) ?? 'nothing'}`);
  }
  const sizeKiB = Math.ceil(requestedKiB / VOLUME_GRANULARITY_KIB) * VOLUME_GRANULARITY_KIB;
  if (!Number.isSafeInteger(sizeKiB)) return invalid('volume create: "volumeSizeInKb" is too large');
  return { kind: 'volume-create', poolId: storagePoolId, sizeKiB, name };
}

/** `POST /api/instances/System::<id>/action/snapshotVolumes` with `{"snapshotDefs":[{"volumeId","snapshotName"}]}`. */
function snapshotCreate(body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { snapshotDefs } = parsed;
  if (!Array.isArray(snapshotDefs) || snapshotDefs.length === 0) return invalid('snapshot: "snapshotDefs" must be a non-empty list');
  const snapshots: { volumeId: string; snapshotName: string }[] = [];
  for (const definition of snapshotDefs as unknown[]) {
    const { volumeId, snapshotName } = (typeof definition === 'object' && definition !== null ? definition : {}) as Record<string, unknown>;
    if (typeof volumeId !== 'string' || !OBJECT_ID.test(volumeId)) return invalid('snapshot: every snapshotDefs entry needs a PowerFlex "volumeId"');
    if (typeof snapshotName !== 'string' || snapshotName === '') return invalid('snapshot: every snapshotDefs entry needs a "snapshotName"');
    snapshots.push({ volumeId, snapshotName });
  }
  return { kind: 'snapshot-create', snapshots };
}

/** The driver sends sizes as a string of digits; a JSON number is accepted too. No fractions, signs or zero. */
function wholeKiB(value: unknown): number | undefined {
  const kib = typeof value === 'string' && /^[0-9]{1,16}$/.test(value) ? Number(value) : value;
  return typeof kib === 'number' && Number.isSafeInteger(kib) && kib > 0 ? kib : undefined;
}

function invalid(message: string): Operation {
  return { kind: 'invalid', status: 400, message };
}
