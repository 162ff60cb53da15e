// What a OneFS API request means (issue 15; the calls gopowerscale makes for the CSI PowerScale
// driver: reference/array-clients/powerscale.md, "ps#<n>" = its sequence row): pure, no I/O. The
// operation table is in README.md.
//
// A PowerScale "volume" is a directory `<isiPath>/<name>` (namespace API) with a SmartQuota and an
// NFS export on it (platform API). The ledger knows it by its full path, in the pool of its parent
// directory (the role's isiPath). Objects are named to the adapter's lookups as `directory:<path>`,
// `quota:<id>`, `export:<id>` and `snapshot:<id>`; a quota, export or snapshot stands for the
// directory at its path, so ownership of all four follows from the directory's.
import type { Classified, Operation } from '../types.js';
import type { RequestView } from '../../pipeline/types.js';
import { knownFields, strictJsonObject } from '../json.js';
import { normalisePath } from '../path.js';

const READ_METHODS = new Set(['GET', 'HEAD']);

/** The body fields the decision reads: a case variant of one is refused (Go's decoder would read it). */
const BODY_FIELDS = knownFields(['path', 'paths', 'thresholds', 'hard', 'name']);

/** Quota ids are OneFS's opaque alphanumerics; export and snapshot ids are integers. */
const QUOTA_ID = /^[0-9A-Za-z_-]{1,64}$/;
const NUMERIC_ID = /^[0-9]{1,12}$/;

export type PowerScaleObject = 'directory' | 'quota' | 'export' | 'snapshot';

export const objectRef = (kind: PowerScaleObject, id: string): string => `${kind}:${id}`;

/**
 * The ledger's name for the charge of a directory's SmartQuota: apart from the directory's own name
 * (its path, always starting with '/'), so the quota can be charged while the directory's create is
 * still unconfirmed, and freed when the quota is removed.
 */
export const quotaName = (directory: string): string => `quota:${directory}`;

/** The directory a path is in: a volume's pool (the role's isiPath). */
export const parentOf = (path: string): string => path.slice(0, path.lastIndexOf('/')) || '/';

/** Whole bytes → KiB charged, at least 1 KiB: the ledger's smallest charge, what an owned directory itself is charged. */
export const kibOf = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));

export function classifyPowerScale(request: Pick<RequestView, 'method' | 'path' | 'body' | 'headers'>): Classified {
  const normalised = normalisePath(request.path);
  if (!normalised.ok) return { path: request.path, operation: invalid(normalised.reason) };
  const pathname = normalised.pathname.length > 1 ? normalised.pathname.replace(/\/$/, '') : normalised.pathname;
  const segments = pathname.split('/').filter((segment) => segment !== '');
  // Namespace paths are files and directories: forwarded without a trailing '/' (gopowerscale sends
  // none, ps#4); platform and session paths keep it, as gopowerscale sends them (ps#2).
  const forwarded = segments[0] === 'namespace' ? pathname : normalised.pathname;
  return { path: forwarded + normalised.query, operation: operationOf(request.method.toUpperCase(), segments, normalised.query, request) };
}

function operationOf(method: string, segments: string[], query: string, request: Pick<RequestView, 'body' | 'headers'>): Operation {
  const lower = segments.map((segment) => segment.toLowerCase());
  // The driver's session calls (log in, read, log out) are answered locally (reference §3.3 item 5):
  // it never learns array credentials and cannot end the service's shared session.
  if (lower[0] === 'session') return { kind: 'login' };
  if (READ_METHODS.has(method)) return { kind: 'read' };
  if (lower[0] === 'namespace') return namespaceMutation(method, segments.slice(1), query, request);
  if (lower[0] !== 'platform') return { kind: 'unknown-mutation' };
  const [version, ...rest] = lower.slice(1);
  const id = segments[segments.length - 1]!;
  const route = `${method} ${version}/${rest.slice(0, -1).join('/')}/${rest.at(-1) ?? ''}`;
  switch (route) {
    case 'POST 1/quota/quotas':
      return quotaCreate(request.body); // ps#8
    case `PUT 1/quota/quotas/${lower.at(-1)}`:
      return QUOTA_ID.test(id) && rest.length === 3 ? quotaUpdate(request.body, objectRef('quota', id)) : { kind: 'unknown-mutation' }; // ps#12
    case `DELETE 1/quota/quotas/${lower.at(-1)}`:
      // Removing the quota frees its charge once the array confirms it (ps#16, before the directory's delete).
      return QUOTA_ID.test(id) && rest.length === 3 ? { kind: 'volume-delete', volumeId: objectRef('quota', id) } : { kind: 'unknown-mutation' };
    case 'POST 2/protocols/nfs/exports':
      return exportCreate(request.body); // ps#9
    case `PUT 2/protocols/nfs/exports/${lower.at(-1)}`:
      // Who may mount it (ControllerPublish adds node clients): the directory owner's to change.
      return NUMERIC_ID.test(id) && rest.length === 4 ? { kind: 'volume-map', volumeId: objectRef('export', id) } : { kind: 'unknown-mutation' };
    case `DELETE 2/protocols/nfs/exports/${lower.at(-1)}`:
      return NUMERIC_ID.test(id) && rest.length === 4 ? { kind: 'volume-unmap', volumeId: objectRef('export', id) } : { kind: 'unknown-mutation' }; // ps#17
    case 'POST 1/snapshot/snapshots':
      return snapshotCreate(request.body); // ps#13
    case `DELETE 1/snapshot/snapshots/${lower.at(-1)}`:
      return NUMERIC_ID.test(id) && rest.length === 3 ? { kind: 'volume-unmap', volumeId: objectRef('snapshot', id) } : { kind: 'unknown-mutation' }; // ps#14
    default:
      // Cluster configuration, other protocols (SMB, S3, HDFS), quota and snapshot settings: denied.
      return { kind: 'unknown-mutation' };
  }
}

/**
 * `PUT /namespace<p>` with `x-isi-ifs-target-type: container` makes a directory (ps#6): the volume,
 * owned by the tenant from here on, charged by its quota later. `DELETE /namespace<p>[?recursive=true]`
 * deletes it (ps#18). Anything else on the namespace (writing files, copies, moves, ACLs, metadata)
 * is denied: the driver never does it, and a copy or move could reach another tenant's directory.
 */
function namespaceMutation(method: string, segments: string[], query: string, request: Pick<RequestView, 'headers'>): Operation {
  if (segments.length < 2) return { kind: 'unknown-mutation' };
  const path = `/${segments.join('/')}`;
  if (method === 'PUT' && query === '' && request.headers['x-isi-ifs-target-type'] === 'container') {
    return { kind: 'volume-create', poolId: parentOf(path), sizeKiB: kibOf(0), name: path };
  }
  if (method === 'DELETE' && (query === '' || query === '?recursive=true')) return { kind: 'volume-delete', volumeId: objectRef('directory', path) };
  return { kind: 'unknown-mutation' };
}

/**
 * `POST /platform/1/quota/quotas {path, type:"directory", thresholds:{hard}, …}` (ps#8): the hard
 * threshold is what is charged, as a charge of its own on the directory, made by its owner only.
 */
function quotaCreate(body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { path, type } = parsed;
  if (!isDirectoryPath(path)) return invalid(`quota create: "path" must be a directory path under /ifs, got ${JSON.stringify(path) ?? 'nothing'}`);
  if (type !== 'directory') return invalid(`quota create: only directory quotas are accepted, got type ${JSON.stringify(type) ?? 'nothing'}`);
  const { thresholds } = parsed;
  const hard = hardThreshold(thresholds);
  if (hard !== undefined) return { kind: 'volume-quota', volumeId: objectRef('directory', path), name: quotaName(path), sizeKiB: kibOf(hard) };
  // No hard threshold (an advisory or soft one only): the directory stays unbounded and is charged
  // nothing; the owner may make it only where a role allows unbounded directories (requireHardQuota: false).
  const hardGiven = typeof thresholds === 'object' && thresholds !== null && (thresholds as { hard?: unknown }).hard !== undefined && (thresholds as { hard?: unknown }).hard !== null;
  if (hardGiven) return invalid('quota create: thresholds.hard must be whole bytes above 0: it is what the directory is charged against the tenant\'s quota');
  return { kind: 'volume-map', volumeId: objectRef('directory', path) };
}

/** `PUT /platform/1/quota/quotas/<id> {thresholds:{hard}, …}` (ps#12): a new hard threshold is an expansion; other changes are the owner's. */
function quotaUpdate(body: Buffer, volumeId: string): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const thresholds = parsed.thresholds;
  if (thresholds === undefined || (typeof thresholds === 'object' && thresholds !== null && !('hard' in thresholds))) return { kind: 'volume-map', volumeId };
  const hard = hardThreshold(thresholds);
  if (hard === undefined) return invalid('quota update: thresholds.hard must be whole bytes (removing the hard threshold would leave the directory unbounded)');
  return { kind: 'volume-expand', volumeId, newSizeKiB: kibOf(hard) };
}

/** `POST /platform/2/protocols/nfs/exports {paths:[<p>], …}` (ps#9): publishing a directory is its owner's. */
function exportCreate(body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { paths } = parsed;
  // One path per export, as the driver makes them: each path would need its own ownership check.
  if (!Array.isArray(paths) || paths.length !== 1 || !isDirectoryPath(paths[0])) return invalid('nfs export create: "paths" must hold exactly one directory path under /ifs');
  return { kind: 'volume-map', volumeId: objectRef('directory', paths[0]) };
}

/**
 * `POST /platform/1/snapshot/snapshots {name, path}` (ps#13): the directory's owner's. Charged
 * nothing: a OneFS snapshot is copy-on-write and the driver's quotas exclude snapshots
 * (`include_snapshots: false`, ps#8).
 */
function snapshotCreate(body: Buffer): Operation {
  const parsed = strictJsonObject(body, BODY_FIELDS);
  if (typeof parsed === 'string') return invalid(parsed);
  const { name, path } = parsed;
  if (typeof name !== 'string' || name === '') return invalid('snapshot create: "name" is required');
  if (!isDirectoryPath(path)) return invalid('snapshot create: "path" must be a directory path under /ifs');
  return { kind: 'volume-map', volumeId: objectRef('directory', path) };
}

/**
 * A body's path as the array will resolve it: absolute under /ifs, no '.', '..' or empty segments,
 * no trailing '/', no control characters. Anything else could name one directory to the decision
 * and another to the array.
 */
function isDirectoryPath(path: unknown): path is string {
  if (typeof path !== 'string' || !path.startsWith('/ifs/') || path.includes('\\') || [...path].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return false;
  return path.slice(1).split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

function hardThreshold(thresholds: unknown): number | undefined {
  if (typeof thresholds !== 'object' || thresholds === null) return undefined;
  const hard = (thresholds as { hard?: unknown }).hard;
  return typeof hard === 'number' && Number.isSafeInteger(hard) && hard > 0 ? hard : undefined;
}

function invalid(message: string): Operation {
  return { kind: 'invalid', status: 400, message };
}
