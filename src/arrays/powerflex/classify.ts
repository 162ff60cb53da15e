// What a PowerFlex gateway request means, by the PowerFlex REST API reference (3.x `/api`, 4.x
// `/rest`), not by what our tests happen to send: pure, no I/O. Every route and its rule is in
// the adapter's README operation table; a test walks that table against this function.
//
// Case: the gateway's own routing is case-sensitive, but nothing guarantees that of every gateway
// version or of a proxy in front of it. Routes are therefore matched on a lower-cased copy of the
// normalised path, so a case variant of a mutating route (`/API/instances/volume::1/action/REMOVEVOLUME`)
// is classified as that mutation and checked as such; the original spelling is what is forwarded.
// Any other mutating request is 'unknown-mutation' (fail closed), so a case trick can at worst turn
// a read into a denial, never a mutation into a read.
import type { Classified, Operation } from '../types.js';
import type { RequestView } from '../../pipeline/types.js';
import { knownFields, strictJsonObject, wholeNumber } from '../json.js';
import { normalisePath } from '../path.js';
import { fileSystemVolumeId, nfsExportVolumeId } from './objectIds.js';

/** PowerFlex allocates volumes in multiples of 8 GiB; the quota is charged what the array allocates. */
export const VOLUME_GRANULARITY_KIB = 8 * 1024 * 1024;

const KIB_PER_GIB = 1024 * 1024;

/** Methods that never change array state; every other method is classified as a possible mutation. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/** Session endpoints that end a login: `/api/logout` (REST) and `/api/gatewayLogout` (gateway). */
const LOGOUTS = new Set(['logout', 'gatewaylogout']);

// Volume actions (`POST /api/instances/Volume::<id>/action/<verb>`) the CSI driver uses. A Map, not
// an object literal: a path segment like `constructor` must not find a prototype member.
// - setMappedSdcLimits / setVolumeMappingAccessMode change how an SDC that already maps the volume
//   sees it: checked as the map they amend (ownership).
// - removeMappedSdc is an unmap whatever the body says (`sdcId` or `allSdcs`).
const VOLUME_ACTIONS = new Map<string, 'volume-delete' | 'volume-map' | 'volume-unmap'>([
  ['removevolume', 'volume-delete'],
  ['addmappedsdc', 'volume-map'],
  ['setmappedsdclimits', 'volume-map'],
  ['setvolumemappingaccessmode', 'volume-map'],
  ['removemappedsdc', 'volume-unmap'],
]);

/** The body fields the decision reads: a case variant of one is refused (the array might read it instead). */
const BODY_FIELDS = knownFields([
  'name', 'storagePoolId', 'volumeSizeInKb', 'snapshotDefs', 'volumeId', 'snapshotName', 'sizeInGB', 'srcVolumeId',
  'size_total', 'storage_pool_id', 'file_system_id', 'snapshot_id', 'copy_name',
]);

/** PowerFlex block object ids are hex strings (e.g. `ae376b0300000000`); anything else never names a volume. */
const OBJECT_ID = /^[0-9A-Za-z]{1,64}$/;

/** PowerFlex 4.x file objects (file systems, NFS exports, NAS servers) have UUID-style ids. */
const FILE_OBJECT_ID = /^[0-9A-Za-z-]{1,64}$/;

export function classifyPowerFlex(request: Pick<RequestView, 'method' | 'path' | 'body'>): Classified {
  const normalised = normalisePath(request.path);
  if (!normalised.ok) return { path: request.path, operation: invalid(normalised.reason) };
  return { path: normalised.path, operation: operationOf(request.method.toUpperCase(), normalised.pathname, request.body) };
}

function operationOf(method: string, pathname: string, body: Buffer): Operation {
  const original = pathname.split('/').filter((segment) => segment !== '');
  const lower = original.map((segment) => segment.toLowerCase());

  // The driver's logins (3.x `/api/login`, 4.x `/rest/auth/login` and its token refresh) are answered
  // locally whatever the method: the driver must never learn array credentials.
  if (lower.length === 2 && lower[0] === 'api' && lower[1] === 'login') return { kind: 'login' };
  if (lower.length === 3 && lower[0] === 'rest' && lower[1] === 'auth' && (lower[2] === 'login' || lower[2] === 'refresh')) return { kind: 'login' };
  // A logout, even a GET, would end the service's own gateway session, shared by every tenant.
  if (lower.length === 2 && lower[0] === 'api' && LOGOUTS.has(lower[1]!)) return { kind: 'unknown-mutation' };
  if (lower.length === 3 && lower[0] === 'rest' && lower[1] === 'auth' && lower[2] === 'logout') return { kind: 'unknown-mutation' };
  if (READ_METHODS.has(method)) return { kind: 'read' };
  if (lower[0] === 'rest' && lower[1] === 'v1') return fileOperation(method, original.slice(2), lower.slice(2), body);
  if (method !== 'POST' || lower[0] !== 'api') return { kind: 'unknown-mutation' };

  // /api/types/<Type>/instances/ and /api/types/<Type>/instances/action/query…/
  if (lower[1] === 'types' && lower[3] === 'instances') {
    if (lower.length === 4 && lower[2] === 'volume') return volumeCreate(body);
    if (lower.length === 6 && lower[4] === 'action' && isQuery(lower[5]!)) return { kind: 'read' };
    return { kind: 'unknown-mutation' };
  }

  // /api/instances/System/queryMdmCluster: the one query the reference places outside `action/`.
  if (lower.length === 4 && lower[1] === 'instances' && lower[2] === 'system' && lower[3] === 'querymdmcluster') return { kind: 'read' };

  // /api/instances/<Type>[::<id>]/action/<verb>/
  if (lower.length === 5 && lower[1] === 'instances' && lower[3] === 'action') {
    const [type, id] = splitObject(original[2]!);
    const verb = lower[4]!;
    // Every `query…` action only reads (querySystemLimits, queryMdmCluster, querySelectedStatistics, …).
    if (isQuery(verb)) return { kind: 'read' };
    if (type === 'volume') return volumeAction(verb, id, body);
    if (type === 'system' && verb === 'approvesdc') return { kind: 'sdc-approve' };
    if (type === 'system' && verb === 'snapshotvolumes') return snapshotCreate(body);
  }
  return { kind: 'unknown-mutation' };
}

function isQuery(verb: string): boolean {
  return verb.startsWith('query');
}

/** Actions that read the body: setVolumeSize (an expansion), overwriteVolumeContent (a restore from another volume). */
const VOLUME_BODY_ACTIONS = new Map<string, (volumeId: string, body: Buffer) => Operation>([
  ['setvolumesize', volumeExpand],
  ['overwritevolumecontent', volumeRestore],
]);

function volumeAction(verb: string, id: string, body: Buffer): Operation {
  const kind = VOLUME_ACTIONS.get(verb);
  const fromBody = VOLUME_BODY_ACTIONS.get(verb);
  if (kind === undefined && fromBody === undefined) return { kind: 'unknown-mutation' };
  if (!OBJECT_ID.test(id)) return invalid(`invalid volume id in path: ${JSON.stringify(id)}`);
  return fromBody ? fromBody(id, body) : { kind: kind!, volumeId: id };
}

/** `POST /api/instances/Volume::<id>/action/overwriteVolumeContent` with `{"srcVolumeId"}`: the source's data into this volume. */
function volumeRestore(volumeId: string, body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { srcVolumeId } = parsed;
  if (typeof srcVolumeId !== 'string' || !OBJECT_ID.test(srcVolumeId)) return invalid('volume restore: "srcVolumeId" is required and must be a PowerFlex volume id');
  return { kind: 'volume-restore', volumeId, sourceVolumeId: srcVolumeId };
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
  const requestedKiB = wholeNumber(volumeSizeInKb);
  if (requestedKiB === undefined) {
    return invalid(`volume create: "volumeSizeInKb" must be a positive whole number of KiB, got ${JSON.stringify(volumeSizeInKb) ?? 'nothing'}`);
  }
  const sizeKiB = allocatedKiB(requestedKiB);
  if (!Number.isSafeInteger(sizeKiB)) return invalid('volume create: "volumeSizeInKb" is too large');
  return { kind: 'volume-create', poolId: storagePoolId, sizeKiB, name };
}

/** `POST /api/instances/Volume::<id>/action/setVolumeSize` with `{"sizeInGB":"16"}` (goscaleio sends GiB as a string). */
function volumeExpand(volumeId: string, body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const gib = wholeNumber(parsed.sizeInGB);
  if (gib === undefined) return invalid(`volume expand: "sizeInGB" must be a positive whole number of GiB, got ${JSON.stringify(parsed.sizeInGB) ?? 'nothing'}`);
  const newSizeKiB = allocatedKiB(gib * KIB_PER_GIB);
  if (!Number.isSafeInteger(newSizeKiB)) return invalid('volume expand: "sizeInGB" is too large');
  return { kind: 'volume-expand', volumeId, newSizeKiB };
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

/**
 * PowerFlex 4.x file services (`/rest/v1/…`, csi-powerflex with `nasName`): file systems are
 * charged and owned like volumes, in the quota of their storage pool; an NFS export is checked
 * as access to the file system it exports. Sizes are bytes (`size_total`).
 */
function fileOperation(method: string, original: string[], lower: string[], body: Buffer): Operation {
  const [collection, id, sub] = [lower[0], original[1], lower[2]];
  if (id !== undefined && !FILE_OBJECT_ID.test(id)) return invalid(`invalid ${collection ?? 'object'} id in path: ${JSON.stringify(id)}`);
  if (collection === 'file-systems') {
    if (method === 'POST' && lower.length === 1) return fileSystemCreate(body);
    if (id === undefined) return { kind: 'unknown-mutation' };
    const volumeId = fileSystemVolumeId(id);
    if (method === 'DELETE' && lower.length === 2) return { kind: 'volume-delete', volumeId };
    if (method === 'PATCH' && lower.length === 2) return fileSystemModify(volumeId, body);
    if (method === 'POST' && lower.length === 3 && sub === 'snapshot') return fileSystemSnapshot(volumeId, body);
    if (method === 'POST' && lower.length === 3 && sub === 'restore') return fileSystemRestore(volumeId, body);
    return { kind: 'unknown-mutation' };
  }
  if (collection === 'nfs-exports') {
    if (method === 'POST' && lower.length === 1) return nfsExportCreate(body);
    if (id === undefined || lower.length !== 2) return { kind: 'unknown-mutation' };
    if (method === 'PATCH') return { kind: 'volume-map', volumeId: nfsExportVolumeId(id) };
    if (method === 'DELETE') return { kind: 'volume-unmap', volumeId: nfsExportVolumeId(id) };
  }
  return { kind: 'unknown-mutation' };
}

/** `POST /rest/v1/file-systems` with `{"name","size_total":<bytes>,"storage_pool_id","nas_server_id"}`. */
function fileSystemCreate(body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { name, size_total: sizeTotal, storage_pool_id: poolId } = parsed;
  if (typeof name !== 'string' || name === '') return invalid('file system create: "name" is required');
  if (typeof poolId !== 'string' || !OBJECT_ID.test(poolId)) return invalid('file system create: "storage_pool_id" is required and must be a PowerFlex pool id');
  const sizeKiB = bytesToKiB(sizeTotal);
  if (sizeKiB === undefined) return invalid(`file system create: "size_total" must be a positive whole number of bytes, got ${JSON.stringify(sizeTotal) ?? 'nothing'}`);
  return { kind: 'volume-create', poolId, sizeKiB, name };
}

/** `PATCH /rest/v1/file-systems/<id>`: a new `size_total` is an expansion; anything else only needs ownership. */
function fileSystemModify(volumeId: string, body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  if (parsed.size_total === undefined) return { kind: 'volume-map', volumeId };
  const newSizeKiB = bytesToKiB(parsed.size_total);
  if (newSizeKiB === undefined) return invalid(`file system modify: "size_total" must be a positive whole number of bytes, got ${JSON.stringify(parsed.size_total)}`);
  return { kind: 'volume-expand', volumeId, newSizeKiB };
}

/** `POST /rest/v1/file-systems/<id>/snapshot` with `{"name"}`: a snapshot of an owned file system, charged its size. */
function fileSystemSnapshot(volumeId: string, body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  if (typeof parsed.name !== 'string' || parsed.name === '') return invalid('file system snapshot: "name" is required');
  return { kind: 'snapshot-create', snapshots: [{ volumeId, snapshotName: parsed.name }] };
}

/**
 * `POST /rest/v1/file-systems/<id>/restore` with `{"snapshot_id"}`: the snapshot's data into the file
 * system. With `copy_name` the array first keeps a copy of the current data, an uncharged new file
 * system: not accountable, so refused.
 */
function fileSystemRestore(volumeId: string, body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { snapshot_id: snapshotId, copy_name: copyName } = parsed;
  if (copyName !== undefined) return { kind: 'unknown-mutation' };
  if (typeof snapshotId !== 'string' || !FILE_OBJECT_ID.test(snapshotId)) return invalid('file system restore: "snapshot_id" is required');
  return { kind: 'volume-restore', volumeId, sourceVolumeId: fileSystemVolumeId(snapshotId) };
}

/** `POST /rest/v1/nfs-exports` with `{"name","file_system_id","path"}`: exporting needs the file system. */
function nfsExportCreate(body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { file_system_id: fileSystemId } = parsed;
  if (typeof fileSystemId !== 'string' || !FILE_OBJECT_ID.test(fileSystemId)) return invalid('nfs export create: "file_system_id" is required');
  return { kind: 'volume-map', volumeId: fileSystemVolumeId(fileSystemId) };
}

/** What the array allocates for a requested size: whole 8 GiB units. */
function allocatedKiB(requestedKiB: number): number {
  return Math.ceil(requestedKiB / VOLUME_GRANULARITY_KIB) * VOLUME_GRANULARITY_KIB;
}

/** File-system sizes are bytes; the quota is KiB, rounded up so a byte is never free. */
function bytesToKiB(value: unknown): number | undefined {
  const bytes = wholeNumber(value);
  return bytes === undefined ? undefined : Math.ceil(bytes / 1024);
}

function invalid(message: string): Operation {
  return { kind: 'invalid', status: 400, message };
}
