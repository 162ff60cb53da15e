// What a PowerStore REST request means (reference §3.4; the calls gopowerstore makes for the CSI
// driver: reference/array-clients/powerstore.md): pure, no I/O. The operation table is in README.md.
//
// Paths are `/api/rest/<collection>[/<id>[/<action>]]`. Routes are matched on a lower-cased copy of
// the normalised path (a case variant of a mutation is still that mutation); any other mutating
// request is 'unknown-mutation' (fail closed).
//
// Object references: a volume-like object is named to the adapter's lookups as `volume/<id>`,
// `file_system/<id>` or `nfs_export/<id>` (an export stands for its file system), because
// PowerStore's volumes and file systems are different collections with ids of the same form.
import type { Classified, Operation } from '../types.js';
import type { RequestView } from '../../pipeline/types.js';
import { knownFields, strictJsonObject } from '../json.js';
import { normalisePath } from '../path.js';

/** Methods that never change array state. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/** The body fields the decision reads: a case variant of one is refused (the array might read it instead). */
const BODY_FIELDS = knownFields(['name', 'size', 'size_total', 'volume_id', 'host_id', 'host_group_id', 'file_system_id', 'nas_server_id']);

/** PowerStore ids are UUIDs (volumes, hosts, file systems) or similar hex strings with dashes. */
const OBJECT_ID = /^[0-9A-Za-z_-]{1,64}$/;

/** Whole bytes → KiB charged: PowerStore allocates what was asked (sizes are bytes), rounded up to KiB. */
const kibOf = (bytes: number): number => Math.ceil(bytes / 1024);

export type PowerStoreObject = 'volume' | 'file_system' | 'nfs_export';

/** The adapter's reference for an object of a collection. */
export const objectRef = (collection: PowerStoreObject, id: string): string => `${collection}/${id}`;

export function classifyPowerStore(request: Pick<RequestView, 'method' | 'path' | 'body'>): Classified {
  const normalised = normalisePath(request.path);
  if (!normalised.ok) return { path: request.path, operation: invalid(normalised.reason) };
  // PowerStore's paths carry no trailing '/' (gopowerstore sends none): forward them that way.
  const pathname = normalised.pathname.length > 1 ? normalised.pathname.replace(/\/$/, '') : normalised.pathname;
  return { path: pathname + normalised.query, operation: operationOf(request.method.toUpperCase(), pathname, request.body) };
}

function operationOf(method: string, pathname: string, body: Buffer): Operation {
  const original = pathname.split('/').filter((segment) => segment !== '');
  const lower = original.map((segment) => segment.toLowerCase());
  if (lower[0] !== 'api' || lower[1] !== 'rest') return READ_METHODS.has(method) ? { kind: 'read' } : { kind: 'unknown-mutation' };
  const [collection, rawId, action, extra] = [lower[2], original[3], lower[4], lower[5]];

  // The driver's login is answered locally whatever the method: it must never learn array credentials.
  if (collection === 'login_session' && rawId === undefined) return { kind: 'login' };
  // A logout, whatever the method, would end the service's own session, shared by every tenant.
  if (collection === 'logout') return { kind: 'unknown-mutation' };
  if (READ_METHODS.has(method)) return { kind: 'read' };
  if (collection === undefined || extra !== undefined) return { kind: 'unknown-mutation' };
  if (rawId !== undefined && !OBJECT_ID.test(rawId)) return invalid(`invalid ${collection} id in path: ${JSON.stringify(rawId)}`);

  switch (`${method} ${collection}${rawId === undefined ? '' : '/:id'}${action === undefined ? '' : `/${action}`}`) {
    case 'POST volume':
      return create(body, 'size', 'volume');
    case 'POST file_system':
      return create(body, 'size_total', 'file system');
    case 'PATCH volume/:id':
      return modify(body, 'size', objectRef('volume', rawId!));
    case 'PATCH file_system/:id':
      return modify(body, 'size_total', objectRef('file_system', rawId!));
    case 'DELETE volume/:id':
      return { kind: 'volume-delete', volumeId: objectRef('volume', rawId!) };
    case 'DELETE file_system/:id':
      return { kind: 'volume-delete', volumeId: objectRef('file_system', rawId!) };
    case 'POST volume/:id/snapshot':
      return snapshot(body, objectRef('volume', rawId!));
    case 'POST file_system/:id/snapshot':
      return snapshot(body, objectRef('file_system', rawId!));
    case 'POST volume/:id/clone':
      return clone(body, objectRef('volume', rawId!));
    case 'POST file_system/:id/clone':
      return clone(body, objectRef('file_system', rawId!));
    // Volume → host (group) mapping, either side of it (REST reference: volume attach/detach, host attach/detach).
    case 'POST volume/:id/attach':
      return { kind: 'volume-map', volumeId: objectRef('volume', rawId!) };
    case 'POST volume/:id/detach':
      return { kind: 'volume-unmap', volumeId: objectRef('volume', rawId!) };
    case 'POST host/:id/attach':
    case 'POST host_group/:id/attach':
      return mappedVolume(body, 'volume-map');
    case 'POST host/:id/detach':
    case 'POST host_group/:id/detach':
      return mappedVolume(body, 'volume-unmap');
    // An NFS export publishes its file system: creating one, or changing who may mount it, needs the file system's owner.
    case 'POST nfs_export':
      return exportCreate(body);
    case 'PATCH nfs_export/:id':
      return { kind: 'volume-map', volumeId: objectRef('nfs_export', rawId!) };
    case 'DELETE nfs_export/:id':
      return { kind: 'volume-unmap', volumeId: objectRef('nfs_export', rawId!) };
    default:
      return { kind: 'unknown-mutation' };
  }
}

/** `POST /volume {"name","size":<bytes>,…}` and `POST /file_system {"name","nas_server_id","size_total":<bytes>,…}`. */
function create(body: Buffer, sizeField: 'size' | 'size_total', what: string): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { name } = parsed;
  if (typeof name !== 'string' || name === '') return invalid(`${what} create: "name" is required`);
  const bytes = wholeBytes(parsed[sizeField]);
  if (bytes === undefined) return invalid(`${what} create: "${sizeField}" must be a positive whole number of bytes, got ${JSON.stringify(parsed[sizeField]) ?? 'nothing'}`);
  // PowerStore has no pools: the system is the pool (the policy keys quotas by systemID); the adapter fills it in.
  return { kind: 'volume-create', poolId: '', sizeKiB: kibOf(bytes), name };
}

/** `PATCH /volume/<id>` (`size`) or `/file_system/<id>` (`size_total`): a size is an expansion, anything else a modification. */
function modify(body: Buffer, sizeField: 'size' | 'size_total', volumeId: string): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  // Any other change (name, description, policies) is the owner's to make: checked as a map, as on PowerFlex.
  if (!(sizeField in parsed)) return { kind: 'volume-map', volumeId };
  const bytes = wholeBytes(parsed[sizeField]);
  if (bytes === undefined) return invalid(`expand: "${sizeField}" must be a positive whole number of bytes, got ${JSON.stringify(parsed[sizeField])}`);
  return { kind: 'volume-expand', volumeId, newSizeKiB: kibOf(bytes) };
}

/** `POST /<volume|file_system>/<id>/snapshot {"name",…}`: charged the source's size, as Dell's snapshot policy does. */
function snapshot(body: Buffer, volumeId: string): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { name } = parsed;
  if (typeof name !== 'string' || name === '') return invalid('snapshot: "name" is required');
  return { kind: 'snapshot-create', snapshots: [{ volumeId, snapshotName: name }] };
}

/** `POST /<volume|file_system>/<id>/clone {"name",…}`: a new object the size of its source. */
function clone(body: Buffer, volumeId: string): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { name } = parsed;
  if (typeof name !== 'string' || name === '') return invalid('clone: "name" is required');
  return { kind: 'volume-clone', volumeId, name };
}

/** `POST /host/<id>/attach {"volume_id"}` (and detach, and host groups). */
function mappedVolume(body: Buffer, kind: 'volume-map' | 'volume-unmap'): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { volume_id: volumeId } = parsed;
  if (typeof volumeId !== 'string' || !OBJECT_ID.test(volumeId)) return invalid(`${kind === 'volume-map' ? 'attach' : 'detach'}: "volume_id" is required`);
  return { kind, volumeId: objectRef('volume', volumeId) };
}

/** `POST /nfs_export {"name","file_system_id","path",…}`. */
function exportCreate(body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { file_system_id: fileSystemId } = parsed;
  if (typeof fileSystemId !== 'string' || !OBJECT_ID.test(fileSystemId)) return invalid('nfs export create: "file_system_id" is required');
  return { kind: 'volume-map', volumeId: objectRef('file_system', fileSystemId) };
}

/** gopowerstore sends sizes as JSON integers (bytes). No strings, fractions, signs or zero. */
function wholeBytes(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function invalid(message: string): Operation {
  return { kind: 'invalid', status: 400, message };
}
