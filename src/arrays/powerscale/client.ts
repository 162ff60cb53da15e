// The service's own OneFS client: one session per cluster (OneFS API Reference, "Session service":
// `POST /session/1/session` with `services: ["platform","namespace"]` → 201 with the `isisessid` and
// `isicsrf` cookies; later calls carry the cookie, `X-CSRF-Token` and `Referer`), kept by the shared
// SessionPool (renewed before OneFS's inactivity timeout, dropped on a 401) so a forwarded request
// costs no extra round trip, and the lookups the pipeline needs: a directory with its hard quota, the
// directory a quota, export or snapshot stands for, and the inventory.
import type { ArrayCredentials, StorageSystem } from '../../resources/types.js';
import { setCookieValue } from '../cookies.js';
import { responseJson, type ArrayResponse } from '../http.js';
import { SessionArrayClient, type SessionClientOptions } from '../sessionClient.js';
import { ArrayLookupError, type VolumeInfo } from '../types.js';
import { kibOf, parentOf, quotaName, type PowerScaleObject } from './classify.js';
import { onefsErrorMessage } from './errors.js';

/**
 * Sessions: renewed after an hour (OneFS's absolute timeout is 4 hours) and a minute before the
 * inactivity timeout the login reports (`timeout_inactive`, 15 minutes by default).
 */
export type PowerScaleClientOptions = SessionClientOptions;

export interface PowerScaleSession {
  sessionId: string;
  csrfToken: string;
  /** OneFS checks that a mutation's Referer is the API endpoint. */
  referer: string;
}

export const SESSION_COOKIE = 'isisessid';
export const CSRF_COOKIE = 'isicsrf';
export const CSRF_HEADER = 'x-csrf-token';

interface RawQuota {
  id?: unknown;
  path?: unknown;
  type?: unknown;
  thresholds?: { hard?: unknown } | null;
  /** What the directory holds: `logical` bytes (OneFS API Reference, quota `usage`). */
  usage?: { logical?: unknown } | null;
}

/** Where each object kind is read, and the list its answer holds (ps#10, ps#14). */
const COLLECTIONS: Record<'export' | 'snapshot', readonly [string, string]> = {
  export: ['/platform/2/protocols/nfs/exports', 'exports'],
  snapshot: ['/platform/1/snapshot/snapshots', 'snapshots'],
};

export class PowerScaleClient extends SessionArrayClient<PowerScaleSession> {
  constructor(options: PowerScaleClientOptions = {}) {
    super('PowerScale', options, { maxAgeMs: 60 * 60_000, idleMarginMs: 60_000 });
  }

  /**
   * `quota:<id>` → the quota's charge (its hard threshold); `directory:<path>`, `export:<id>`,
   * `snapshot:<id>` → the directory it stands for.
   */
  async object(system: StorageSystem, credentials: ArrayCredentials, ref: string): Promise<VolumeInfo> {
    const [kind, id] = splitRef(ref);
    if (kind === 'quota') {
      const quota = responseJson<{ quotas?: RawQuota[] }>(await this.expectOk(system, credentials, `/platform/1/quota/quotas/${encodeURIComponent(id)}`))?.quotas?.[0];
      if (typeof quota?.path !== 'string') throw new ArrayLookupError(`PowerScale cluster ${system.systemID} returned an unreadable quota ${id}`, 502);
      // A hard threshold may be lowered down to what the directory holds (no data outgrows its charge).
      return { ...quotaCharge(quota.path, hardOf(quota)), shrinkableToKiB: kibOf(bytesOf(quota.usage?.logical) ?? 0) };
    }
    if (kind === 'directory') {
      const found = await this.directory(system, credentials, id);
      if (!found) throw new ArrayLookupError(`PowerScale cluster ${system.systemID} has no directory ${id}`, 404);
      return found;
    }
    const path = await this.pathOf(system, credentials, kind, id);
    const found = await this.directory(system, credentials, path);
    if (!found) throw new ArrayLookupError(`PowerScale cluster ${system.systemID} has no directory ${path} (of ${kind} ${id})`, 404);
    return found;
  }

  /** A ledger name (a directory's path, or a quota's charge: `quota:<path>`) as the array has it now, or undefined when it has none. */
  async find(system: StorageSystem, credentials: ArrayCredentials, name: string): Promise<VolumeInfo | undefined> {
    if (!name.startsWith(quotaName(''))) return this.directory(system, credentials, name);
    const path = name.slice(quotaName('').length);
    const quota = await this.quotaOn(system, credentials, path);
    return quota && quotaCharge(path, hardOf(quota));
  }

  /** The directory quota on this path, or undefined when it has none. */
  private async quotaOn(system: StorageSystem, credentials: ArrayCredentials, path: string): Promise<RawQuota | undefined> {
    const quotas = responseJson<{ quotas?: RawQuota[] }>(await this.expectOk(system, credentials, `/platform/1/quota/quotas/?path=${encodeURIComponent(path)}&type=directory`))?.quotas;
    if (!Array.isArray(quotas)) throw new ArrayLookupError(`PowerScale cluster ${system.systemID} returned an unreadable quota list`, 502);
    return quotas.find((candidate) => candidate.path === path);
  }

  /** The directory at this path (unbounded when no hard quota limits it), or undefined when the array has none. */
  private async directory(system: StorageSystem, credentials: ArrayCredentials, path: string): Promise<VolumeInfo | undefined> {
    const response = await this.call(system, credentials, 'GET', `/namespace${encodePath(path)}?metadata`);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.lookupError(system, response);
    const quota = await this.quotaOn(system, credentials, path);
    return { ...directoryOf(path), ...(hardOf(quota) === undefined && { unbounded: true }) };
  }

  /**
   * Every directory quota on the cluster, as its directory and its charge, and every directory
   * directly under each pool (a role's isiPath), quota or not (reconciliation and adoption).
   */
  async *inventory(system: StorageSystem, credentials: ArrayCredentials, pools: readonly string[] = []): AsyncGenerator<VolumeInfo> {
    // Page by page (OneFS's resume token); only the quota'd directories' paths are kept, to tell the rest.
    const listed = new Set<string>();
    let resume: string | undefined;
    do {
      const page = responseJson<{ quotas?: RawQuota[]; resume?: unknown }>(
        await this.expectOk(system, credentials, `/platform/1/quota/quotas/?type=directory${resume === undefined ? '' : `&resume=${encodeURIComponent(resume)}`}`),
      );
      if (!Array.isArray(page?.quotas)) throw new ArrayLookupError(`PowerScale cluster ${system.systemID} returned an unreadable quota list`, 502);
      for (const quota of page.quotas) {
        if (typeof quota.path !== 'string') throw new ArrayLookupError(`PowerScale cluster ${system.systemID} returned an unreadable quota`, 502);
        const directory = directoryOf(quota.path);
        listed.add(directory.name);
        yield directory;
        yield quotaCharge(quota.path, hardOf(quota));
      }
      resume = typeof page.resume === 'string' && page.resume !== '' ? page.resume : undefined;
    } while (resume !== undefined);
    for (const pool of new Set(pools)) {
      for (const path of await this.directoriesIn(system, credentials, pool)) {
        if (!listed.has(path)) yield { ...directoryOf(path), unbounded: true };
      }
    }
  }

  /** The directories directly in `pool` (OneFS namespace listing, `detail=type`, paged by `resume`); none when it does not exist. */
  private async directoriesIn(system: StorageSystem, credentials: ArrayCredentials, pool: string): Promise<string[]> {
    const paths: string[] = [];
    let resume: string | undefined;
    do {
      const response = await this.call(system, credentials, 'GET', `/namespace${encodePath(pool)}?detail=type${resume === undefined ? '' : `&resume=${encodeURIComponent(resume)}`}`);
      if (response.status === 404) return [];
      if (response.status !== 200) throw this.lookupError(system, response);
      const page = responseJson<{ children?: { name?: unknown; type?: unknown }[]; resume?: unknown }>(response.text);
      if (!Array.isArray(page?.children)) throw new ArrayLookupError(`PowerScale cluster ${system.systemID} returned an unreadable listing of ${pool}`, 502);
      for (const child of page.children) {
        if (child.type === 'container' && typeof child.name === 'string' && child.name !== '' && !child.name.includes('/')) paths.push(`${pool.replace(/\/$/, '')}/${child.name}`);
      }
      resume = typeof page.resume === 'string' && page.resume !== '' ? page.resume : undefined;
    } while (resume !== undefined);
    return paths;
  }

  private async pathOf(system: StorageSystem, credentials: ArrayCredentials, kind: 'export' | 'snapshot', id: string): Promise<string> {
    const [collection, list] = COLLECTIONS[kind];
    const body = responseJson<Record<string, { path?: unknown; paths?: unknown }[] | undefined>>(await this.expectOk(system, credentials, `${collection}/${encodeURIComponent(id)}`));
    const item = body?.[list]?.[0];
    const path = kind === 'export' ? (Array.isArray(item?.paths) && item.paths.length === 1 ? item.paths[0] : undefined) : item?.path;
    // An export of several paths stands for no single directory: nobody owns it alone (fail closed).
    if (typeof path !== 'string') throw new ArrayLookupError(`PowerScale cluster ${system.systemID} returned a ${kind} ${id} without a single path`, kind === 'export' ? 403 : 502);
    return path;
  }

  protected async login(system: StorageSystem, credentials: ArrayCredentials): Promise<{ value: PowerScaleSession; idleTimeoutMs?: number }> {
    const body = JSON.stringify({ username: credentials.username, password: credentials.password, services: ['platform', 'namespace'] });
    const response = await this.http.send(system, 'POST', '/session/1/session/', {}, body);
    if (response.status !== 201) {
      throw new ArrayLookupError(`login to PowerScale cluster ${system.systemID} failed: HTTP ${response.status} ${onefsErrorMessage(response.status, response.text)}`, 502);
    }
    const sessionId = setCookieValue(response.headers['set-cookie'], SESSION_COOKIE);
    const csrfToken = setCookieValue(response.headers['set-cookie'], CSRF_COOKIE);
    if (!sessionId || !csrfToken) throw new ArrayLookupError(`login to PowerScale cluster ${system.systemID} returned no session (isisessid and isicsrf)`, 502);
    const inactive = responseJson<{ timeout_inactive?: unknown }>(response.text)?.timeout_inactive;
    return { value: { sessionId, csrfToken, referer: system.endpoint }, ...(typeof inactive === 'number' && inactive > 0 ? { idleTimeoutMs: inactive * 1000 } : {}) };
  }

  /** A call with the current session; a 401 (session timed out early, cluster restarted) logs in again once. */
  private async call(system: StorageSystem, credentials: ArrayCredentials, method: string, path: string): Promise<ArrayResponse> {
    const session = await this.session(system, credentials);
    const response = await this.http.send(system, method, path, sessionHeaders(session));
    if (response.status !== 401) return response;
    return this.http.send(system, method, path, sessionHeaders(await this.session(system, credentials, session)));
  }

  private async expectOk(system: StorageSystem, credentials: ArrayCredentials, path: string): Promise<string> {
    const response = await this.call(system, credentials, 'GET', path);
    if (response.status !== 200) throw this.lookupError(system, response);
    return response.text;
  }

  private lookupError(system: StorageSystem, response: ArrayResponse): ArrayLookupError {
    if (response.status === 401 || response.status === 403) return new ArrayLookupError(`PowerScale cluster ${system.systemID} rejected the configured credentials`, 502);
    return new ArrayLookupError(onefsErrorMessage(response.status, response.text), response.status);
  }
}

/** The session's credential headers, on the service's own calls and on forwarded requests alike. */
export function sessionHeaders(session: PowerScaleSession): Record<string, string> {
  return { cookie: `${SESSION_COOKIE}=${session.sessionId}`, [CSRF_HEADER]: session.csrfToken, referer: session.referer };
}

/** A directory as the ledger knows it: by its full path, in its parent's pool (the role's isiPath), charged the ledger's least. */
function directoryOf(path: string): VolumeInfo {
  const pool = parentOf(path);
  return { id: path, name: path, sizeKiB: kibOf(0), poolId: pool, poolName: pool };
}

/** A directory's quota as the ledger knows it: its own name, charged the hard threshold, in the directory's pool. */
function quotaCharge(path: string, hardBytes: number | undefined): VolumeInfo {
  const pool = parentOf(path);
  return { id: quotaName(path), name: quotaName(path), sizeKiB: kibOf(hardBytes ?? 0), poolId: pool, poolName: pool };
}

/** Whole non-negative bytes, or undefined. */
const bytesOf = (value: unknown): number | undefined => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined);

const hardOf = (quota: RawQuota | undefined): number | undefined => bytesOf(quota?.thresholds?.hard);

/** Each segment escaped, '/' kept: the namespace API's path is the file system's. */
const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

function splitRef(ref: string): [PowerScaleObject, string] {
  const at = ref.indexOf(':');
  const kind = ref.slice(0, at);
  if (at === -1 || (kind !== 'directory' && kind !== 'quota' && kind !== 'export' && kind !== 'snapshot')) throw new Error(`not a PowerScale object reference: ${ref}`);
  return [kind, ref.slice(at + 1)];
}
