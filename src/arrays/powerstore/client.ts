// The service's own PowerStore client: a login session per system (REST API Developers Guide,
// "Managing a REST API session": Basic credentials on `GET /api/rest/login_session`, then the
// `auth_cookie` cookie and the `DELL-EMC-TOKEN` CSRF header on every later request) and the
// lookups the pipeline needs (volumes and file systems by id and by name, the inventory). It uses
// the array's real credentials, which never leave this process except towards the array itself.
import type { ArrayCredentials, StorageSystem } from '../../resources/types.js';
import { setCookieValue } from '../cookies.js';
import { responseJson, type ArrayResponse } from '../http.js';
import { SessionArrayClient, type SessionClientOptions } from '../sessionClient.js';
import { ArrayLookupError, type VolumeInfo } from '../types.js';
import type { PowerStoreObject } from './classify.js';
import { powerstoreErrorMessage } from './errors.js';

/**
 * Sessions: renewed after 30 minutes (PowerStore ends a session after its idle timeout, which the
 * login reports: `idle_timeout`, an hour by default; a fresh login every 30 minutes also bounds how
 * long a session the array dropped silently is carried) and a minute before that idle timeout.
 */
export type PowerStoreClientOptions = SessionClientOptions;

/** The credential a PowerStore session is: its cookie and its CSRF token. */
export interface PowerStoreSession {
  cookie: string;
  csrfToken: string;
}

export const CSRF_HEADER = 'dell-emc-token';
export const SESSION_COOKIE = 'auth_cookie';

/** The page size of list calls; PowerStore answers 206 with a Content-Range while more remain. */
const PAGE = 1000;

/** A volume or file system as listed; `size` (volumes) and `size_total` (file systems) are bytes. */
interface RawObject {
  id?: unknown;
  name?: unknown;
  size?: unknown;
  size_total?: unknown;
}

const SELECT: Record<'volume' | 'file_system', string> = { volume: 'id,name,size', file_system: 'id,name,size_total' };
const SIZE_FIELD: Record<'volume' | 'file_system', 'size' | 'size_total'> = { volume: 'size', file_system: 'size_total' };

export class PowerStoreClient extends SessionArrayClient<PowerStoreSession> {
  constructor(options: PowerStoreClientOptions = {}) {
    super('PowerStore', options, { maxAgeMs: 30 * 60_000, idleMarginMs: 60_000 });
  }

  /**
   * An object reference of the classifier (`volume/<id>`, `file_system/<id>`, `nfs_export/<id>`:
   * an export stands for its file system) → name and size. A missing one answers with the array's
   * status and message.
   */
  async object(system: StorageSystem, credentials: ArrayCredentials, ref: string): Promise<VolumeInfo> {
    const [collection, id] = splitRef(ref);
    if (collection === 'nfs_export') {
      const nfsExport = responseJson<{ file_system_id?: unknown }>(await this.expectOk(system, credentials, `/api/rest/nfs_export/${encodeURIComponent(id)}?select=id,file_system_id`));
      if (typeof nfsExport?.file_system_id !== 'string') throw new ArrayLookupError(`PowerStore system ${system.systemID} returned an unreadable NFS export ${id}`, 502);
      return this.object(system, credentials, `file_system/${nfsExport.file_system_id}`);
    }
    const raw = responseJson<RawObject>(await this.expectOk(system, credentials, `/api/rest/${collection}/${encodeURIComponent(id)}?select=${SELECT[collection]}`));
    return this.info(system, collection, raw);
  }

  /** The volume, snapshot or file system of this name as the array has it now, or undefined when it has none. */
  async findByName(system: StorageSystem, credentials: ArrayCredentials, name: string): Promise<VolumeInfo | undefined> {
    for (const collection of ['volume', 'file_system'] as const) {
      const listed = responseJson<unknown>(await this.expectOk(system, credentials, `/api/rest/${collection}?name=eq.${encodeURIComponent(name)}&select=${SELECT[collection]}`));
      if (!Array.isArray(listed)) throw new ArrayLookupError(`PowerStore system ${system.systemID} returned an unreadable ${collection} list`, 502);
      if (listed.length > 0) return this.info(system, collection, listed[0] as RawObject);
    }
    return undefined;
  }

  /** Every volume, snapshot and file system (including file system snapshots) on the system, page by page. */
  async *inventory(system: StorageSystem, credentials: ArrayCredentials): AsyncGenerator<VolumeInfo> {
    for (const collection of ['volume', 'file_system'] as const) {
      for (let offset = 0; ; offset += PAGE) {
        const path = `/api/rest/${collection}?select=${SELECT[collection]}&limit=${PAGE}&offset=${offset}&order=id`;
        const response = await this.call(system, credentials, 'GET', path);
        if (response.status !== 200 && response.status !== 206) throw this.lookupError(system, response);
        const page = responseJson<unknown>(response.text);
        if (!Array.isArray(page)) throw new ArrayLookupError(`PowerStore system ${system.systemID} returned an unreadable ${collection} list`, 502);
        for (const raw of page as RawObject[]) yield this.info(system, collection, raw);
        if (response.status === 200 || page.length < PAGE) break;
      }
    }
  }

  protected async login(system: StorageSystem, credentials: ArrayCredentials): Promise<{ value: PowerStoreSession; idleTimeoutMs?: number }> {
    const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
    const response = await this.http.send(system, 'GET', '/api/rest/login_session', { authorization: `Basic ${basic}` });
    if (response.status !== 200) {
      throw new ArrayLookupError(`login to PowerStore system ${system.systemID} failed: HTTP ${response.status} ${powerstoreErrorMessage(response.status, response.text)}`, 502);
    }
    const csrfToken = headerValue(response.headers[CSRF_HEADER]);
    const cookie = setCookieValue(response.headers['set-cookie'], SESSION_COOKIE);
    if (!csrfToken || !cookie) throw new ArrayLookupError(`login to PowerStore system ${system.systemID} returned no session (auth_cookie and DELL-EMC-TOKEN)`, 502);
    const idle = responseJson<{ idle_timeout?: unknown }[]>(response.text)?.[0]?.idle_timeout;
    return { value: { cookie, csrfToken }, ...(typeof idle === 'number' && idle > 0 ? { idleTimeoutMs: idle * 1000 } : {}) };
  }

  /** A call with the current session; a 401 (session expired early, array restarted) logs in again once. */
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

  /** PowerStore has no pools: a role's quota is keyed by the systemID, so that is every object's pool. */
  private info(system: StorageSystem, collection: 'volume' | 'file_system', raw: RawObject | undefined): VolumeInfo {
    const bytes = raw?.[SIZE_FIELD[collection]];
    if (typeof raw?.id !== 'string' || typeof raw.name !== 'string' || typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
      throw new ArrayLookupError(`PowerStore system ${system.systemID} returned an unreadable ${collection}`, 502);
    }
    return { id: raw.id, name: raw.name, sizeKiB: Math.ceil(bytes / 1024), poolId: system.systemID, poolName: system.systemID };
  }

  private lookupError(system: StorageSystem, response: ArrayResponse): ArrayLookupError {
    if (response.status === 401 || response.status === 403) {
      return new ArrayLookupError(`PowerStore system ${system.systemID} rejected the configured credentials`, 502);
    }
    return new ArrayLookupError(powerstoreErrorMessage(response.status, response.text), response.status);
  }
}

/** The session's credential headers, on the service's own calls and on forwarded requests alike. */
export function sessionHeaders(session: PowerStoreSession): Record<string, string> {
  return { cookie: `${SESSION_COOKIE}=${session.cookie}`, [CSRF_HEADER]: session.csrfToken };
}

function splitRef(ref: string): [PowerStoreObject, string] {
  const at = ref.indexOf('/');
  const collection = ref.slice(0, at);
  if (at === -1 || (collection !== 'volume' && collection !== 'file_system' && collection !== 'nfs_export')) throw new Error(`not a PowerStore object reference: ${ref}`);
  return [collection, ref.slice(at + 1)];
}

const headerValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value) || undefined;
