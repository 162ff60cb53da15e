// What a Unisphere for PowerMax REST request means (`/univmax/restapi/<version>/…` and the private
// SnapVX API `/univmax/restapi/private/<version>/…`, every version: 90, 91, 92, 100, …), by the
// Unisphere REST API reference and what gopowermax v2.11.0 sends for csi-powermax: pure, no I/O.
// Every route and its rule is in the adapter's README operation table; a test walks that table.
//
// Routes are matched on a lower-cased copy of the normalised path (the original is forwarded), so a
// case variant of a mutating route is checked as that mutation. A path naming another array than
// the one the request is routed to is refused: one Unisphere manages several arrays, and the
// decision must be about the array that executes the request.
import type { RequestView } from '../../pipeline/types.js';
import { knownFields, strictJsonObject, wholeNumber } from '../json.js';
import { normalisePath } from '../path.js';
import type { Classified, Operation } from '../types.js';
import { snapshotObjectId } from './objectIds.js';

/** One cylinder is 15 tracks of 128 KiB: 1,966,080 bytes. Unisphere allocates whole cylinders. */
export const CYLINDER_KIB = 1920;

/** The soft-delete mark csi-powermax gives a volume it deletes (`_DEL` + its identifier). */
export const SOFT_DELETE_PREFIX = '_DEL';

/** KiB per unit, by `capacityUnit` (Unisphere: MB, GB, TB are binary). */
const UNIT_KIB = new Map<string, number>([
  ['CYL', CYLINDER_KIB],
  ['MB', 1024],
  ['GB', 1024 * 1024],
  ['TB', 1024 * 1024 * 1024],
]);

const READ_METHODS = new Set(['GET', 'HEAD']);

/** The body fields the decision reads: a case variant of one is refused (Go's decoder would read it). */
const BODY_FIELDS = knownFields([
  'editStorageGroupActionParam', 'expandStorageGroupParam', 'addVolumeParam', 'addSpecificVolumeParam', 'removeVolumeParam',
  'volumeAttributes', 'volumeAttribute', 'num_of_vols', 'capacityUnit', 'volume_size', 'volumeIdentifier', 'identifier_name',
  'volumeIdentifierChoice', 'volumeId', 'editVolumeActionParam', 'modifyVolumeIdentifierParam', 'expandVolumeParam',
  'deviceNameListSource', 'deviceNameListTarget', 'name', 'action', 'sloBasedStorageGroupParam', 'create_new_volumes',
]);

/** A Symmetrix id is 12 digits; a device id 5 hex digits (longer on newer arrays). */
const SYMMETRIX_ID = /^[0-9]{12}$/;
const DEVICE_ID = /^[0-9A-Fa-f]{5,8}$/;
const OBJECT_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** SnapVX `PUT …/snapshot/<name>` actions: the target's data becomes the source's snapshot, or the source's comes back. */
const LINK_ACTIONS = new Set(['link', 'relink', 'unlink']);

type Body = Record<string, unknown>;

export function classifyPowerMax(request: Pick<RequestView, 'method' | 'path' | 'body'>, systemID: string): Classified {
  const normalised = normalisePath(request.path);
  if (!normalised.ok) return { path: request.path, operation: invalid(normalised.reason) };
  return { path: normalised.path, operation: operationOf(request.method.toUpperCase(), normalised.pathname, request.body, systemID) };
}

function operationOf(method: string, pathname: string, body: Buffer, systemID: string): Operation {
  const original = pathname.split('/').filter((segment) => segment !== '');
  const lower = original.map((segment) => segment.toLowerCase());
  if (lower[0] !== 'univmax' || lower[1] !== 'restapi') return READ_METHODS.has(method) ? { kind: 'read' } : { kind: 'unknown-mutation' };
  const isPrivate = lower[2] === 'private';
  const at = isPrivate ? 3 : 2;
  // …/<version>/<area>/symmetrix/<sid>/<rest…>
  const [area, symmetrix, sid] = [lower[at + 1], lower[at + 2], original[at + 3]];
  if (symmetrix === 'symmetrix' && sid !== undefined && sid !== systemID) {
    if (!SYMMETRIX_ID.test(sid)) return invalid(`invalid Symmetrix id in path: ${JSON.stringify(sid)}`);
    return { kind: 'invalid', status: 403, message: `request denied: the path names array ${sid}, but the request is for array ${systemID}` };
  }
  if (READ_METHODS.has(method)) return { kind: 'read' };
  if (symmetrix !== 'symmetrix' || sid === undefined) return { kind: 'unknown-mutation' };
  const rest = original.slice(at + 4);
  const restLower = lower.slice(at + 4);
  if (area === 'sloprovisioning' && !isPrivate) return provisioning(method, rest, restLower, body);
  if (area === 'replication' && isPrivate && restLower[0] === 'snapshot' && rest.length === 2) return snapVx(method, rest[1]!, body);
  if (area === 'replication' && restLower[0] === 'storagegroup' && restLower[2] === 'snapshot') return { kind: 'invalid', status: 403, message: STORAGE_GROUP_SNAPVX_DENIED };
  return { kind: 'unknown-mutation' };
}

/**
 * Storage-group SnapVX (`…/replication/symmetrix/<sid>/storagegroup/<sg>/snapshot[/…]`, gopowermax's
 * CreateStorageGroupSnapshot and its generations, used for volume group snapshots) snapshots every
 * volume of the group. csi-powermax's groups are per SRP/service level and per node, shared by every
 * tenant provisioning there: one tenant's group snapshot (then linked to its own volumes) would copy
 * the others' data. Refused with what to do instead; the CSI controller's own snapshots are per volume.
 */
const STORAGE_GROUP_SNAPVX_DENIED =
  'request denied: storage-group snapshots are not allowed: a csi-powermax storage group holds volumes of several tenants; snapshot each volume instead (POST …/replication/symmetrix/<sid>/snapshot/<name> with deviceNameListSource)';

/** `…/sloprovisioning/symmetrix/<sid>/<collection>[/<id>]`. */
function provisioning(method: string, rest: string[], lower: string[], body: Buffer): Operation {
  const [collection, id] = [lower[0], rest[1]];
  if (rest.length > 2) return { kind: 'unknown-mutation' };
  if (collection === 'storagegroup') {
    if (method === 'POST' && id === undefined) return storageGroupCreate(body);
    if (id === undefined || !OBJECT_NAME.test(id)) return id === undefined ? { kind: 'unknown-mutation' } : invalid(`invalid storage group id in path: ${JSON.stringify(id)}`);
    if (method === 'PUT') return storageGroupEdit(id, body);
    // An empty or emptied group: volumes are never destroyed with it (Unisphere refuses a group in a masking view).
    if (method === 'DELETE') return { kind: 'read' };
    return { kind: 'unknown-mutation' };
  }
  if (collection === 'volume' && id !== undefined) {
    if (!DEVICE_ID.test(id)) return invalid(`invalid volume id in path: ${JSON.stringify(id)}`);
    if (method === 'PUT') return volumeEdit(id, body);
    if (method === 'DELETE') return { kind: 'volume-delete', volumeId: id };
    return { kind: 'unknown-mutation' };
  }
  // Hosts, port groups and masking views name no volume: the volumes a view exposes are those of its
  // storage group, which only an owner could add. Passed for a tenant with a role on the array.
  if ((collection === 'host' || collection === 'portgroup' || collection === 'maskingview') && ['POST', 'PUT', 'DELETE'].includes(method)) {
    return { kind: 'read' };
  }
  return { kind: 'unknown-mutation' };
}

/** `POST …/storagegroup` (the driver creates its groups empty, with an SRP and service level). New volumes in it would be uncharged. */
function storageGroupCreate(body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const groups = parsed.sloBasedStorageGroupParam;
  const withVolumes = (Array.isArray(groups) ? groups : []).some((group) => {
    const attributes = objectOf(group)?.volumeAttributes;
    return Array.isArray(attributes) && attributes.some((attribute) => Number(objectOf(attribute)?.num_of_vols ?? 0) !== 0);
  });
  return withVolumes ? { kind: 'unknown-mutation' } : { kind: 'read' };
}

/** `PUT …/storagegroup/<sg>` with `editStorageGroupActionParam`: new volumes, existing volumes added or removed. */
function storageGroupEdit(storageGroupId: string, body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const action = objectOf(parsed.editStorageGroupActionParam);
  if (!action) return invalid('storage group edit: "editStorageGroupActionParam" must be an object');
  const keys = Object.keys(action);
  if (keys.length !== 1) return { kind: 'unknown-mutation' };
  if (keys[0] === 'removeVolumeParam') return oneVolume('volume-unmap', objectOf(action.removeVolumeParam), 'remove volume');
  if (keys[0] !== 'expandStorageGroupParam') return { kind: 'unknown-mutation' };
  const expand = objectOf(action.expandStorageGroupParam);
  const expandKeys = Object.keys(expand ?? {});
  if (!expand || expandKeys.length !== 1) return invalid('storage group edit: "expandStorageGroupParam" must hold exactly one of addVolumeParam, addSpecificVolumeParam');
  if (expandKeys[0] === 'addSpecificVolumeParam') return oneVolume('volume-map', objectOf(expand.addSpecificVolumeParam), 'add volume');
  if (expandKeys[0] === 'addVolumeParam') return volumeCreate(storageGroupId, objectOf(expand.addVolumeParam));
  return { kind: 'unknown-mutation' };
}

/**
 * `addVolumeParam.volumeAttributes[]`: every element, each `num_of_vols` volumes of `volume_size` in
 * its `capacityUnit`, rounded up to whole cylinders. The pool is the group's SRP: the operation names
 * the group, and the adapter's pool lookup reads its SRP.
 */
function volumeCreate(storageGroupId: string, add: Body | undefined): Operation {
  const attributes = add?.volumeAttributes;
  if (!Array.isArray(attributes) || attributes.length === 0) return invalid('volume create: "volumeAttributes" must be a non-empty list');
  let name: string | undefined;
  let sizeKiB = 0;
  for (const element of attributes as unknown[]) {
    const attribute = objectOf(element);
    const identifier = objectOf(attribute?.volumeIdentifier);
    const elementName = identifier?.identifier_name;
    if (typeof elementName !== 'string' || elementName === '') return invalid('volume create: every volumeAttributes element needs volumeIdentifier.identifier_name');
    if (name !== undefined && elementName !== name) return invalid('volume create: one volume identifier per request (storage-authz charges and owns volumes by name)');
    if (elementName.startsWith(SOFT_DELETE_PREFIX)) return invalid(`volume create: identifiers starting with ${SOFT_DELETE_PREFIX} mark deleted volumes`);
    name = elementName;
    const count = attribute?.num_of_vols === undefined ? 1 : wholeNumber(attribute.num_of_vols);
    if (count === undefined) return invalid(`volume create: "num_of_vols" must be a positive whole number, got ${JSON.stringify(attribute?.num_of_vols)}`);
    const each = sizeInKiB(attribute?.volume_size, attribute?.capacityUnit);
    if (typeof each === 'string') return invalid(`volume create: ${each}`);
    sizeKiB += count * each;
  }
  if (!Number.isSafeInteger(sizeKiB)) return invalid('volume create: the requested size is too large');
  return { kind: 'volume-create', poolId: storageGroupId, sizeKiB, name: name! };
}

/** `PUT …/volume/<dev>` with `editVolumeActionParam`: the `_DEL` rename (soft delete) or an expansion. */
function volumeEdit(volumeId: string, body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const action = objectOf(parsed.editVolumeActionParam);
  if (!action) return invalid('volume edit: "editVolumeActionParam" must be an object');
  // gopowermax sends `enable_mobility_id_param: null` beside an expansion: null changes nothing.
  const keys = Object.keys(action).filter((key) => action[key] !== null);
  if (keys.length !== 1) return { kind: 'unknown-mutation' };
  if (keys[0] === 'modifyVolumeIdentifierParam') {
    const identifier = objectOf(objectOf(action.modifyVolumeIdentifierParam)?.volumeIdentifier);
    const newName = identifier?.identifier_name;
    // Any other rename would take the volume out of its owner's name.
    return typeof newName === 'string' && newName.startsWith(SOFT_DELETE_PREFIX) ? { kind: 'volume-delete', volumeId } : { kind: 'unknown-mutation' };
  }
  if (keys[0] === 'expandVolumeParam') {
    const attribute = objectOf(objectOf(action.expandVolumeParam)?.volumeAttribute);
    const newSizeKiB = sizeInKiB(attribute?.volume_size, attribute?.capacityUnit);
    if (typeof newSizeKiB === 'string') return invalid(`volume expand: ${newSizeKiB}`);
    return { kind: 'volume-expand', volumeId, newSizeKiB };
  }
  return { kind: 'unknown-mutation' };
}

/** `…/private/<ver>/replication/symmetrix/<sid>/snapshot/<name>`: SnapVX create, link/unlink/restore, delete. */
function snapVx(method: string, snapshotName: string, body: Buffer): Operation {
  if (!OBJECT_NAME.test(snapshotName)) return invalid(`invalid snapshot name in path: ${JSON.stringify(snapshotName)}`);
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const source = oneDevice(parsed.deviceNameListSource, 'deviceNameListSource');
  if (typeof source !== 'string') return source;
  if (method === 'POST') return { kind: 'snapshot-create', snapshots: [{ volumeId: source, snapshotName }] };
  if (method === 'DELETE') return { kind: 'volume-delete', volumeId: snapshotObjectId(source, snapshotName) };
  if (method !== 'PUT' || typeof parsed.action !== 'string') return { kind: 'unknown-mutation' };
  const action = parsed.action.toLowerCase();
  if (action === 'restore') return { kind: 'volume-restore', volumeId: source, sourceVolumeId: source };
  if (!LINK_ACTIONS.has(action)) return { kind: 'unknown-mutation' };
  const target = oneDevice(parsed.deviceNameListTarget, 'deviceNameListTarget');
  if (typeof target !== 'string') return target;
  return { kind: 'volume-restore', volumeId: target, sourceVolumeId: source };
}

/** `[{"name":"<dev>"}]`: one device (the driver's lists hold one; more would need a charge or check per device). */
function oneDevice(list: unknown, field: string): string | Operation {
  if (!Array.isArray(list) || list.length !== 1) return invalid(`snapshot: "${field}" must list exactly one device`);
  const name = objectOf(list[0])?.name;
  if (typeof name !== 'string' || !DEVICE_ID.test(name)) return invalid(`snapshot: "${field}" must name a PowerMax device id`);
  return name;
}

/** `{"volumeId":["<dev>"], …}` of an add or remove: one existing volume, checked for ownership. */
function oneVolume(kind: 'volume-map' | 'volume-unmap', param: Body | undefined, what: string): Operation {
  const ids = param?.volumeId;
  const list = typeof ids === 'string' ? [ids] : ids;
  if (!Array.isArray(list) || list.length !== 1 || typeof list[0] !== 'string' || !DEVICE_ID.test(list[0])) {
    return invalid(`${what}: "volumeId" must list exactly one PowerMax device id`);
  }
  return { kind, volumeId: list[0] };
}

/** `volume_size` (a string of digits as gopowermax sends it, or a number) in `capacityUnit`, as whole cylinders in KiB. */
function sizeInKiB(size: unknown, unit: unknown): number | string {
  const perUnit = typeof unit === 'string' ? UNIT_KIB.get(unit.toUpperCase()) : undefined;
  if (perUnit === undefined) return `"capacityUnit" must be one of CYL, MB, GB, TB, got ${JSON.stringify(unit) ?? 'nothing'}`;
  const amount = wholeNumber(size);
  if (amount === undefined) return `"volume_size" must be a positive whole number, got ${JSON.stringify(size) ?? 'nothing'}`;
  const kib = Math.ceil((amount * perUnit) / CYLINDER_KIB) * CYLINDER_KIB;
  return Number.isSafeInteger(kib) ? kib : '"volume_size" is too large';
}

function objectOf(value: unknown): Body | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Body) : undefined;
}

function invalid(message: string): Operation {
  return { kind: 'invalid', status: 400, message };
}
