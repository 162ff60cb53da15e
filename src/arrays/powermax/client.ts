// The service's own Unisphere client: the few lookups the pipeline needs (a storage group's SRP,
// volumes by device id and by identifier, every volume of the array). Unisphere takes Basic
// credentials on every request (no session, no CSRF); they are the Storage's secret and never leave
// this process except towards the array.
import type { ArrayCredentials, StorageSystem } from '../../resources/types.js';
import { LookupCache, type ArrayLookup } from '../cache.js';
import { ArrayHttp, responseJson } from '../http.js';
import { ArrayLookupError, type VolumeInfo } from '../types.js';
import { CYLINDER_KIB, SOFT_DELETE_PREFIX } from './classify.js';
import { unisphereErrorMessage } from './errors.js';
import { snapshotObjectId, snapshotOf } from './objectIds.js';

/** The Unisphere REST version the service asks in (9.2 / 10.x serve `100`; gopowermax v2.11.0 uses it). */
export const LOOKUP_API_VERSION = '100';

/** A storage group outside any SRP (e.g. a parent group) says so with this SRP name. */
const NO_SRP = 'NONE';

export interface PowerMaxClientOptions {
  /** Extra trusted CA certificates (PEM) for Unisphere TLS. */
  ca?: string;
  /** How long a storage group's SRP is trusted (groups rarely change SRP; a move is refused anyway). */
  lookupTtlMs?: number;
  lookupCacheSize?: number;
  requestTimeoutMs?: number;
}

interface UnisphereResponse {
  status: number;
  text: string;
}

/** The fields of a Unisphere volume the service reads (`GET …/volume/<dev>`). */
interface RawVolume {
  volumeId?: unknown;
  volume_identifier?: unknown;
  cap_cyl?: unknown;
  storageGroupId?: unknown;
}

/** A volume iterator page (`GET …/volume?…`): `resultList.result[].volumeId`. */
interface RawIterator {
  id?: unknown;
  count?: unknown;
  maxPageSize?: unknown;
  resultList?: { result?: { volumeId?: unknown }[] };
}

export class PowerMaxClient {
  private readonly http: ArrayHttp;
  private readonly srps: LookupCache<string>;

  constructor(options: PowerMaxClientOptions = {}) {
    this.srps = new LookupCache((lookup) => this.lookUpSrp(lookup), { maxEntries: options.lookupCacheSize ?? 1000, ttlMs: options.lookupTtlMs ?? 60_000, serveStaleWhileRefreshing: true });
    this.http = new ArrayHttp('PowerMax', { ...(options.ca === undefined ? {} : { ca: options.ca }), requestTimeoutMs: options.requestTimeoutMs ?? 10_000 });
  }

  /** The storage group's SRP: the pool a volume created in it is charged to (cached). */
  storageGroupSrp(system: StorageSystem, credentials: ArrayCredentials, storageGroupId: string): Promise<string> {
    return this.srps.get({ system, credentials, id: storageGroupId });
  }

  private async lookUpSrp({ system, credentials, id }: ArrayLookup): Promise<string> {
    const group = responseJson<{ srp?: unknown }>(await this.expectOk(system, credentials, `${this.base(system)}/storagegroup/${encodeURIComponent(id)}`));
    return typeof group?.srp === 'string' && group.srp !== '' ? group.srp : NO_SRP;
  }

  /** The SRP a volume-create in this group is charged to; a group outside every SRP cannot take new volumes. */
  async poolName(system: StorageSystem, credentials: ArrayCredentials, storageGroupId: string): Promise<string> {
    const srp = await this.storageGroupSrp(system, credentials, storageGroupId);
    if (srp === NO_SRP) throw new ArrayLookupError(`storage group ${JSON.stringify(storageGroupId)} on PowerMax ${system.systemID} has no SRP`, 400);
    return srp;
  }

  /**
   * Device id → identifier, size, SRP (the SRP of its first storage group in one, as Dell reads it);
   * a SnapVX snapshot (`snapshot:<dev>:<name>`) is its source's size and SRP under its own name. Never
   * cached: the `_DEL` rename changes a volume's name under the same id.
   */
  async volume(system: StorageSystem, credentials: ArrayCredentials, volumeId: string): Promise<VolumeInfo> {
    const snapshot = snapshotOf(volumeId);
    if (snapshot) {
      const source = await this.volume(system, credentials, snapshot.sourceDevice);
      return { ...source, id: volumeId, name: snapshot.snapshotName, softDeleted: false };
    }
    const raw = responseJson<RawVolume>(await this.expectOk(system, credentials, `${this.base(system)}/volume/${encodeURIComponent(volumeId)}`));
    return this.volumeInfo(system, credentials, volumeId, raw);
  }

  /** The volume with this identifier as Unisphere has it now, or undefined when it has none. */
  async findVolume(system: StorageSystem, credentials: ArrayCredentials, name: string): Promise<VolumeInfo | undefined> {
    const ids = await this.volumeIds(system, credentials, `?volume_identifier=${encodeURIComponent(name)}`);
    for (const id of ids) {
      const found = await this.call(system, credentials, `${this.base(system)}/volume/${encodeURIComponent(id)}`);
      if (found.status === 404) continue; // deleted between the two calls
      if (found.status !== 200) throw this.lookupError(system, found);
      const volume = await this.volumeInfo(system, credentials, id, responseJson<RawVolume>(found.text));
      if (volume.name === name) return volume;
    }
    // Not a volume: a SnapVX snapshot of that name (charged under it) on any source device.
    return (await this.snapshots(system, credentials)).find((snapshot) => snapshot.name === name);
  }

  /**
   * Every volume of the array, with identifiers, sizes and SRPs, for reconciliation. Soft-deleted
   * (`_DEL`) volumes are left out: their owners deleted them and were freed when the array confirmed
   * the rename; the driver's deletion worker removes them, and no tenant's quota answers for them.
   */
  async *inventory(system: StorageSystem, credentials: ArrayCredentials): AsyncGenerator<VolumeInfo> {
    // The iterator's pages give device ids only (a few bytes each); each volume is one GET, yielded as read.
    for (const id of await this.volumeIds(system, credentials, '')) {
      const volume = await this.volume(system, credentials, id);
      if (!volume.softDeleted) yield volume;
    }
    yield* await this.snapshots(system, credentials);
  }

  /**
   * Every SnapVX snapshot of the array as the ledger charges it: under its name, its source's size and
   * SRP (`GET …/volume?snapvx_source=true`, then each source's private snapshot list).
   */
  private async snapshots(system: StorageSystem, credentials: ArrayCredentials): Promise<VolumeInfo[]> {
    const snapshots: VolumeInfo[] = [];
    for (const id of await this.volumeIds(system, credentials, '?snapvx_source=true')) {
      const path = `/univmax/restapi/private/${LOOKUP_API_VERSION}/replication/symmetrix/${encodeURIComponent(system.systemID)}/volume/${encodeURIComponent(id)}/snapshot`;
      const listed = responseJson<{ snapshotSrcs?: { snapshotName?: unknown }[] }>(await this.expectOk(system, credentials, path));
      const names = new Set((listed?.snapshotSrcs ?? []).map((source) => source.snapshotName).filter((name): name is string => typeof name === 'string'));
      if (names.size === 0) continue;
      const source = await this.volume(system, credentials, id);
      for (const name of names) snapshots.push({ ...source, id: snapshotObjectId(id, name), name, softDeleted: false });
    }
    return snapshots;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  /** The device ids of a volume query, every page of its iterator (`/common/Iterator/<id>/page`). */
  private async volumeIds(system: StorageSystem, credentials: ArrayCredentials, query: string): Promise<string[]> {
    const first = responseJson<RawIterator>(await this.expectOk(system, credentials, `${this.base(system)}/volume${query}`));
    const count = typeof first?.count === 'number' ? first.count : 0;
    const ids = idsOf(system, first);
    const pageSize = typeof first?.maxPageSize === 'number' && first.maxPageSize > 0 ? first.maxPageSize : ids.length;
    while (ids.length < count && typeof first?.id === 'string' && pageSize > 0) {
      const from = ids.length + 1;
      const to = Math.min(count, ids.length + pageSize);
      const page = responseJson<{ result?: { volumeId?: unknown }[] }>(
        await this.expectOk(system, credentials, `/univmax/restapi/common/Iterator/${encodeURIComponent(first.id)}/page?from=${from}&to=${to}`),
      );
      const more = idsOf(system, { resultList: { result: page?.result ?? [] } });
      if (more.length === 0) throw new ArrayLookupError(`PowerMax ${system.systemID} returned an empty iterator page`, 502);
      ids.push(...more);
    }
    return ids;
  }

  private async volumeInfo(system: StorageSystem, credentials: ArrayCredentials, volumeId: string, raw: RawVolume | undefined): Promise<VolumeInfo> {
    if (typeof raw?.cap_cyl !== 'number') throw new ArrayLookupError(`PowerMax ${system.systemID} returned an unreadable volume ${volumeId}`, 502);
    const name = typeof raw.volume_identifier === 'string' ? raw.volume_identifier : '';
    const softDeleted = name.startsWith(SOFT_DELETE_PREFIX);
    const groups = Array.isArray(raw.storageGroupId) ? raw.storageGroupId.filter((g): g is string => typeof g === 'string') : [];
    let srp: string | undefined;
    for (const group of groups) {
      const candidate = await this.storageGroupSrp(system, credentials, group);
      if (candidate !== NO_SRP) {
        srp = candidate;
        break;
      }
    }
    // The driver's deletion worker takes a soft-deleted volume out of its groups before deleting it.
    if (srp === undefined && !softDeleted) throw new ArrayLookupError(`no storage pool found for volume ${volumeId} on PowerMax ${system.systemID}`, 400);
    return { id: volumeId, name, sizeKiB: raw.cap_cyl * CYLINDER_KIB, poolId: srp ?? '', poolName: srp ?? '', softDeleted };
  }

  private base(system: StorageSystem): string {
    return `/univmax/restapi/${LOOKUP_API_VERSION}/sloprovisioning/symmetrix/${encodeURIComponent(system.systemID)}`;
  }

  private async expectOk(system: StorageSystem, credentials: ArrayCredentials, path: string): Promise<string> {
    const response = await this.call(system, credentials, path);
    if (response.status !== 200) throw this.lookupError(system, response);
    return response.text;
  }

  private lookupError(system: StorageSystem, response: UnisphereResponse): ArrayLookupError {
    if (response.status === 401 || response.status === 403) return new ArrayLookupError(`PowerMax ${system.systemID}: Unisphere rejected the configured credentials`, 502);
    return new ArrayLookupError(unisphereErrorMessage(response.status, response.text), response.status);
  }

  private call(system: StorageSystem, credentials: ArrayCredentials, path: string): Promise<UnisphereResponse> {
    return this.http.send(system, 'GET', path, { authorization: basicAuthorization(credentials) });
  }
}

/** Unisphere's credential on every request: `Basic base64(user:password)`. */
export function basicAuthorization(credentials: ArrayCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

function idsOf(system: StorageSystem, iterator: RawIterator | undefined): string[] {
  const ids: string[] = [];
  for (const entry of iterator?.resultList?.result ?? []) {
    if (typeof entry?.volumeId !== 'string') throw new ArrayLookupError(`PowerMax ${system.systemID} listed a volume without an id`, 502);
    ids.push(entry.volumeId);
  }
  return ids;
}
