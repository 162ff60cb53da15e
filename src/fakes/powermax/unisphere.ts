// A fake Unisphere for PowerMax REST API over HTTPS, faithful to what csi-powermax (gopowermax
// v2.11.0) and storage-authz use. Routes follow the Unisphere for PowerMax REST API reference,
// version 100 (Unisphere 10.0; 9.x's 91/92 paths are served alike) — the section of each route is
// named beside it and listed in README.md — and what gopowermax sends and reads
// (reference array-clients/powermax.md). Basic credentials on every request, storage groups with
// SRPs, volumes in cylinders (1 CYL = 1,920 KiB) with identifiers, the `_DEL` rename, expansion,
// SnapVX snapshots and links, and `{"message"}` errors. It records every request (so a test can
// prove a denied request never reached it) and can be told to fail the next one.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { FakeArrayServer, type SeenRequest } from '../https.js';

export type { SeenRequest };

export const CYLINDER_KIB = 1920;
const KIB_PER_UNIT: Record<string, number> = { CYL: CYLINDER_KIB, MB: 1024, GB: 1024 * 1024, TB: 1024 * 1024 * 1024 };
/** Unisphere's largest page of an iterator (gopowermax reads `maxPageSize`). */
const MAX_PAGE_SIZE = 1000;

export interface FakeStorageGroup {
  storageGroupId: string;
  /** `NONE` for a group outside any SRP. */
  srp: string;
  slo: string;
  maskingViews: string[];
}

export interface FakeVolume {
  volumeId: string;
  volume_identifier: string;
  cap_cyl: number;
  storageGroupId: string[];
  wwn: string;
}

export interface FakeSnapshot {
  name: string;
  source: string;
  generation: number;
  linkedDevices: string[];
}

export interface FakeUnisphereOptions {
  symmetrixId?: string;
  username?: string;
  password?: string;
  srps?: string[];
  storageGroups?: FakeStorageGroup[];
  /** Volumes per iterator page (Unisphere: 1000). */
  maxPageSize?: number;
}

interface UnisphereError {
  status: number;
  message: string;
}

const fail = (status: number, message: string): UnisphereError => ({ status, message });

export class FakeUnisphere extends FakeArrayServer {
  readonly symmetrixId: string;
  readonly srps: string[];
  private readonly groups = new Map<string, FakeStorageGroup>();
  private readonly volumeById = new Map<string, FakeVolume>();
  private readonly snapshots: FakeSnapshot[] = [];
  private readonly maskingViews = new Map<string, { maskingViewId: string; hostId: string; portGroupId: string; storageGroupId: string }>();
  private readonly iterators = new Map<string, string[]>();
  private readonly credentials: { username: string; password: string };
  private readonly maxPageSize: number;
  private nextDevice = 0x100;
  private pendingFailure: UnisphereError | undefined;

  private constructor(options: FakeUnisphereOptions) {
    super();
    this.symmetrixId = options.symmetrixId ?? '000197900123';
    this.credentials = { username: options.username ?? 'smc', password: options.password ?? 'smc-password' };
    this.srps = options.srps ?? ['SRP_1'];
    this.maxPageSize = options.maxPageSize ?? MAX_PAGE_SIZE;
    for (const group of options.storageGroups ?? DEFAULT_STORAGE_GROUPS) this.groups.set(group.storageGroupId, structuredClone(group));
  }

  static async start(options: FakeUnisphereOptions = {}): Promise<FakeUnisphere> {
    return new FakeUnisphere(options).listen('fake-unisphere');
  }

  get username(): string {
    return this.credentials.username;
  }

  get password(): string {
    return this.credentials.password;
  }


  get volumes(): FakeVolume[] {
    return [...this.volumeById.values()].map((volume) => structuredClone(volume));
  }

  get snapshotList(): FakeSnapshot[] {
    return this.snapshots.map((snapshot) => structuredClone(snapshot));
  }

  volumeNamed(identifier: string): FakeVolume | undefined {
    return this.volumes.find((volume) => volume.volume_identifier === identifier);
  }

  /** The next request is answered with this error and not executed. */
  failNext(status = 500, message = 'Internal error injected by the test'): void {
    this.pendingFailure = fail(status, message);
  }

  protected respond(seen: SeenRequest, res: ServerResponse): void {
    const { method, path: rawPath, body } = seen;
    const send = (status: number, payload?: unknown) => {
      if (payload === undefined) {
        res.writeHead(status).end();
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    const expected = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    if (seen.headers.authorization !== expected) {
      send(401, { message: 'Unauthorized' });
      return;
    }
    if (this.pendingFailure) {
      const failure = this.pendingFailure;
      this.pendingFailure = undefined;
      send(failure.status, { message: failure.message });
      return;
    }
    try {
      const url = new URL(rawPath, 'https://unisphere');
      const parsed = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
      const [status, payload] = this.route(method, url, parsed);
      send(status, payload);
    } catch (error) {
      if (isUnisphereError(error)) send(error.status, { message: error.message });
      else send(400, { message: `Could not parse request: ${(error as Error).message}` });
    }
  }

  private route(method: string, url: URL, body: Record<string, unknown>): [number, unknown?] {
    const segments = url.pathname.split('/').filter((s) => s !== '');
    if (segments[0] !== 'univmax' || segments[1] !== 'restapi') throw fail(404, 'Not Found');
    // "System" — GET /univmax/restapi/version.
    if (segments.length === 3 && segments[2] === 'version' && method === 'GET') return [200, { version: 'V10.0.0.1', api_version: '100', supported_api_versions: ['100', '92', '91'] }];
    // "Common" — GET /univmax/restapi/common/Iterator/<id>/page?from=&to=.
    if (segments[2] === 'common' && segments[3] === 'Iterator' && segments[5] === 'page' && method === 'GET') return [200, this.iteratorPage(segments[4]!, url)];
    const isPrivate = segments[2] === 'private';
    const at = isPrivate ? 3 : 2;
    const version = segments[at];
    if (!version || !/^[0-9]{2,3}$/.test(version)) throw fail(404, `API version ${version ?? ''} is not supported`);
    const [area, ...rest] = segments.slice(at + 1);
    // "Replication" — GET /100/replication/capabilities/symmetrix.
    if (area === 'replication' && rest[0] === 'capabilities' && rest[1] === 'symmetrix' && method === 'GET') {
      return [200, { symmetrixCapability: [{ symmetrixId: this.symmetrixId, snapVxCapable: true, rdfCapable: false }] }];
    }
    if (rest[0] !== 'symmetrix' || rest[1] === undefined) throw fail(404, 'Not Found');
    if (rest[1] !== this.symmetrixId) throw fail(404, `Symmetrix ${rest[1]} cannot be found`);
    const tail = rest.slice(2);
    if (area === 'system' && tail.length === 0 && method === 'GET') {
      // "System" — GET /100/system/symmetrix/<sid>.
      return [200, { symmetrixId: this.symmetrixId, local: true, ucode: '6079.175.0', model: 'PowerMax_8000', device_count: this.volumeById.size }];
    }
    if (area === 'sloprovisioning' && !isPrivate) return this.provisioning(method, tail, url, body);
    if (area === 'replication' && isPrivate) return this.replication(method, tail, body);
    throw fail(404, 'Not Found');
  }

  /** "SLO Provisioning" — …/sloprovisioning/symmetrix/<sid>/{srp,storagegroup,volume,maskingview,host,portgroup}. */
  private provisioning(method: string, tail: string[], url: URL, body: Record<string, unknown>): [number, unknown?] {
    const [collection, id, sub] = tail;
    if (collection === 'srp' && id === undefined && method === 'GET') return [200, { srpId: this.srps }];
    if (collection === 'storagegroup') {
      if (id === undefined && method === 'POST') return [201, this.groupJson(this.createGroup(body))];
      if (id === undefined && method === 'GET') return [200, { storageGroupId: [...this.groups.keys()] }];
      const group = this.groups.get(id!);
      if (!group) throw fail(404, `Cannot find Storage Group ${id}`);
      if (method === 'GET') return [200, this.groupJson(group)];
      if (method === 'PUT') return [200, this.groupJson(this.editGroup(group, body))];
      if (method === 'DELETE') {
        if (group.maskingViews.length > 0) throw fail(400, `Storage Group ${group.storageGroupId} is part of a masking view`);
        for (const volume of this.volumeById.values()) volume.storageGroupId = volume.storageGroupId.filter((g) => g !== group.storageGroupId);
        this.groups.delete(group.storageGroupId);
        return [204];
      }
    }
    if (collection === 'volume') {
      if (id === undefined && method === 'GET') return [200, this.volumeIterator(url)];
      const volume = this.volumeById.get(id!);
      if (!volume) throw fail(404, `Volume ${id} cannot be found`);
      if (method === 'GET') return [200, this.volumeJson(volume)];
      if (method === 'PUT') return [200, this.volumeJson(this.editVolume(volume, body))];
      if (method === 'DELETE') {
        if (volume.storageGroupId.length > 0) throw fail(400, `Volume ${volume.volumeId} is in storage group(s) ${volume.storageGroupId.join(', ')}; remove it first`);
        if (this.snapshots.some((s) => s.source === volume.volumeId || s.linkedDevices.includes(volume.volumeId))) throw fail(400, `Volume ${volume.volumeId} has SnapVX sessions`);
        this.volumeById.delete(volume.volumeId);
        return [204];
      }
    }
    if (collection === 'maskingview') {
      if (id === undefined && method === 'POST') return [200, this.createMaskingView(body)];
      const view = this.maskingViews.get(id ?? '');
      if (!view) throw fail(404, `Masking View ${id} cannot be found`);
      if (method === 'GET' && sub === 'connections') {
        const volumeId = url.searchParams.get('volume_id');
        const volumes = [...this.volumeById.values()].filter((v) => v.storageGroupId.includes(view.storageGroupId) && (!volumeId || v.volumeId === volumeId));
        return [200, { maskingViewConnection: volumes.map((v, index) => ({ volumeId: v.volumeId, host_lun_address: index.toString(16).padStart(4, '0'), dir_port: 'FA-1D:4', initiatorId: 'iqn.1993-08.org.debian:01:worker-1', logged_in: true })) }];
      }
      if (method === 'GET') return [200, view];
    }
    if (collection === 'host' && id !== undefined && method === 'GET') return [200, { hostId: id, num_of_initiators: 1, initiator: ['iqn.1993-08.org.debian:01:worker-1'], maskingview: [] }];
    if (collection === 'portgroup' && id !== undefined && method === 'GET') return [200, { portGroupId: id, num_of_ports: 1, symmetrixPortKey: [{ directorId: 'FA-1D', portId: '4' }] }];
    throw fail(404, 'Not Found');
  }

  /** "Replication" (private API, SnapVX) — …/private/100/replication/symmetrix/<sid>/{snapshot/<name>,volume/<dev>/snapshot[/<name>]}. */
  private replication(method: string, tail: string[], body: Record<string, unknown>): [number, unknown?] {
    const [collection, id, sub, name] = tail;
    if (collection === 'volume' && sub === 'snapshot' && method === 'GET') {
      const volume = this.volumeById.get(id ?? '');
      if (!volume) throw fail(404, `Volume ${id} cannot be found`);
      const sources = this.snapshots.filter((s) => s.source === volume.volumeId && (name === undefined || s.name === name));
      if (name !== undefined) {
        if (sources.length === 0) throw fail(404, `Snapshot ${name} on device ${volume.volumeId} cannot be found`);
        return [200, { deviceName: volume.volumeId, snapshotName: name, snapshotSrc: sources.map(snapshotSrcJson) }];
      }
      const links = this.snapshots.filter((s) => s.linkedDevices.includes(volume.volumeId));
      return [200, {
        deviceName: volume.volumeId,
        snapshotSrcs: sources.map(snapshotSrcJson),
        snapshotLnks: links.map((s) => ({ targetDevice: volume.volumeId, snapshotName: s.name, linkSourceName: s.source, generation: s.generation, defined: true })),
      }];
    }
    if (collection === 'snapshot' && id !== undefined && sub === undefined) {
      const source = deviceList(body.deviceNameListSource, 'deviceNameListSource')[0]!;
      if (!this.volumeById.has(source)) throw fail(404, `Volume ${source} cannot be found`);
      if (method === 'POST') {
        // SnapVX: the newest snapshot of a name is generation 0; older ones move up.
        for (const older of this.snapshots.filter((s) => s.source === source && s.name === id)) older.generation += 1;
        this.snapshots.push({ name: id, source, generation: 0, linkedDevices: [] });
        return [200];
      }
      const generation = typeof body.generation === 'number' ? body.generation : 0;
      const snapshot = this.snapshots.find((s) => s.source === source && s.name === id && s.generation === generation);
      if (!snapshot) throw fail(404, `Snapshot ${id} generation ${generation} of device ${source} cannot be found`);
      if (method === 'DELETE') {
        if (snapshot.linkedDevices.length > 0) throw fail(400, `Snapshot ${id} has linked targets`);
        this.snapshots.splice(this.snapshots.indexOf(snapshot), 1);
        return [204];
      }
      if (method === 'PUT') {
        const action = String(body.action ?? '');
        if (action === 'Restore') return [200];
        const target = deviceList(body.deviceNameListTarget, 'deviceNameListTarget')[0]!;
        if (!this.volumeById.has(target)) throw fail(404, `Volume ${target} cannot be found`);
        if (action === 'Link' || action === 'Relink') {
          if (!snapshot.linkedDevices.includes(target)) snapshot.linkedDevices.push(target);
          return [200];
        }
        if (action === 'Unlink') {
          snapshot.linkedDevices = snapshot.linkedDevices.filter((d) => d !== target);
          return [200];
        }
        throw fail(400, `Unsupported snapshot action ${action}`);
      }
    }
    throw fail(404, 'Not Found');
  }

  private createGroup(body: Record<string, unknown>): FakeStorageGroup {
    const id = body.storageGroupId;
    if (typeof id !== 'string' || id === '') throw fail(400, 'storageGroupId is required');
    if (this.groups.has(id)) throw fail(409, `Storage Group ${id} already exists`);
    const srp = typeof body.srpId === 'string' ? body.srpId : 'NONE';
    if (srp !== 'NONE' && !this.srps.includes(srp)) throw fail(400, `SRP ${srp} cannot be found`);
    const slo = objectAt(Array.isArray(body.sloBasedStorageGroupParam) ? body.sloBasedStorageGroupParam[0] : undefined)?.sloId;
    const group = { storageGroupId: id, srp, slo: typeof slo === 'string' ? slo : 'Optimized', maskingViews: [] };
    this.groups.set(id, group);
    return group;
  }

  /** "SLO Provisioning → Storage Group → Modify": expandStorageGroupParam (addVolumeParam, addSpecificVolumeParam) and removeVolumeParam. */
  private editGroup(group: FakeStorageGroup, body: Record<string, unknown>): FakeStorageGroup {
    const action = objectAt(body.editStorageGroupActionParam);
    const expand = objectAt(action?.expandStorageGroupParam);
    const addNew = objectAt(expand?.addVolumeParam);
    const addExisting = objectAt(expand?.addSpecificVolumeParam);
    const remove = objectAt(action?.removeVolumeParam);
    if (addNew) {
      if (group.srp === 'NONE') throw fail(400, `Storage Group ${group.storageGroupId} has no SRP: new volumes cannot be created in it`);
      const attributes = Array.isArray(addNew.volumeAttributes) ? addNew.volumeAttributes : [];
      if (attributes.length === 0) throw fail(400, 'volumeAttributes is required');
      const planned: { name: string; cyl: number }[] = [];
      for (const element of attributes) {
        const attribute = objectAt(element) ?? {};
        const per = KIB_PER_UNIT[String(attribute.capacityUnit ?? 'GB')];
        const size = Number(attribute.volume_size);
        if (per === undefined || !Number.isFinite(size) || size <= 0) throw fail(400, `Invalid volume size ${JSON.stringify(attribute.volume_size)} ${JSON.stringify(attribute.capacityUnit)}`);
        const count = attribute.num_of_vols === undefined ? 1 : Number(attribute.num_of_vols);
        const name = objectAt(attribute.volumeIdentifier)?.identifier_name;
        for (let i = 0; i < count; i++) planned.push({ name: typeof name === 'string' ? name : '', cyl: Math.ceil((size * per) / CYLINDER_KIB) });
      }
      for (const { name, cyl } of planned) {
        const volumeId = (this.nextDevice++).toString(16).toUpperCase().padStart(5, '0');
        this.volumeById.set(volumeId, { volumeId, volume_identifier: name, cap_cyl: cyl, storageGroupId: [group.storageGroupId], wwn: `60000970000197900123533030${volumeId}` });
      }
    } else if (addExisting || remove) {
      const ids = (addExisting ?? remove)!.volumeId;
      for (const volumeId of Array.isArray(ids) ? ids : []) {
        const volume = this.volumeById.get(String(volumeId));
        if (!volume) throw fail(404, `Volume ${String(volumeId)} cannot be found`);
        if (addExisting && !volume.storageGroupId.includes(group.storageGroupId)) volume.storageGroupId.push(group.storageGroupId);
        if (remove) volume.storageGroupId = volume.storageGroupId.filter((g) => g !== group.storageGroupId);
      }
    } else {
      throw fail(400, 'Unsupported storage group edit');
    }
    return group;
  }

  /** "SLO Provisioning → Volume → Modify": modifyVolumeIdentifierParam (rename), expandVolumeParam (grow only). */
  private editVolume(volume: FakeVolume, body: Record<string, unknown>): FakeVolume {
    const action = objectAt(body.editVolumeActionParam);
    const rename = objectAt(objectAt(action?.modifyVolumeIdentifierParam)?.volumeIdentifier);
    const expand = objectAt(objectAt(action?.expandVolumeParam)?.volumeAttribute);
    if (rename) {
      const name = rename.identifier_name;
      if (typeof name !== 'string' || name.length > 64) throw fail(400, 'identifier_name must be a string of at most 64 characters');
      volume.volume_identifier = name;
    } else if (expand) {
      const per = KIB_PER_UNIT[String(expand.capacityUnit ?? 'GB')];
      const size = Number(expand.volume_size);
      if (per === undefined || !Number.isFinite(size) || size <= 0) throw fail(400, `Invalid volume size ${JSON.stringify(expand.volume_size)}`);
      const cyl = Math.ceil((size * per) / CYLINDER_KIB);
      if (cyl < volume.cap_cyl) throw fail(400, `Volume ${volume.volumeId} cannot be made smaller`);
      volume.cap_cyl = cyl;
    } else {
      throw fail(400, 'Unsupported volume edit');
    }
    return volume;
  }

  private createMaskingView(body: Record<string, unknown>): unknown {
    const id = body.maskingViewId;
    const host = objectAt(objectAt(body.hostOrHostGroupSelection)?.useExistingHostParam)?.hostId;
    const portGroup = objectAt(objectAt(body.portGroupSelection)?.useExistingPortGroupParam)?.portGroupId;
    const storageGroup = objectAt(objectAt(body.storageGroupSelection)?.useExistingStorageGroupParam)?.storageGroupId;
    if (typeof id !== 'string' || typeof host !== 'string' || typeof portGroup !== 'string' || typeof storageGroup !== 'string') throw fail(400, 'maskingViewId, host, port group and storage group are required');
    const group = this.groups.get(storageGroup);
    if (!group) throw fail(404, `Cannot find Storage Group ${storageGroup}`);
    const view = { maskingViewId: id, hostId: host, portGroupId: portGroup, storageGroupId: storageGroup };
    this.maskingViews.set(id, view);
    group.maskingViews.push(id);
    return view;
  }

  /** "SLO Provisioning → Volume → List": an iterator (`id`, `count`, `maxPageSize`, `resultList`), filtered by `volume_identifier`, `snapvx_source`. */
  private volumeIterator(url: URL): unknown {
    const identifier = url.searchParams.get('volume_identifier');
    const snapSource = url.searchParams.get('snapvx_source');
    const ids = [...this.volumeById.values()]
      .filter((v) => identifier === null || v.volume_identifier === identifier)
      .filter((v) => snapSource === null || this.snapshots.some((s) => s.source === v.volumeId) === (snapSource === 'true'))
      .map((v) => v.volumeId);
    const id = randomUUID();
    this.iterators.set(id, ids);
    const first = ids.slice(0, this.maxPageSize);
    return { id, count: ids.length, expirationTime: Date.now() + 600_000, maxPageSize: this.maxPageSize, resultList: { result: first.map((volumeId) => ({ volumeId })), from: first.length === 0 ? 0 : 1, to: first.length } };
  }

  private iteratorPage(id: string, url: URL): unknown {
    const ids = this.iterators.get(id);
    if (!ids) throw fail(404, `Iterator ${id} cannot be found`);
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    return { result: ids.slice(from - 1, to).map((volumeId) => ({ volumeId })), from, to };
  }

  private groupJson(group: FakeStorageGroup): unknown {
    const volumes = [...this.volumeById.values()].filter((v) => v.storageGroupId.includes(group.storageGroupId));
    return {
      storageGroupId: group.storageGroupId, srp: group.srp, slo: group.slo, num_of_vols: volumes.length, num_of_masking_views: group.maskingViews.length,
      maskingview: group.maskingViews, cap_gb: round2(volumes.reduce((sum, v) => sum + v.cap_cyl, 0) * CYLINDER_KIB / 1024 / 1024), type: 'Standalone',
    };
  }

  private volumeJson(volume: FakeVolume): unknown {
    return {
      volumeId: volume.volumeId, volume_identifier: volume.volume_identifier, type: 'TDEV', emulation: 'FBA', cap_cyl: volume.cap_cyl,
      cap_mb: round2(volume.cap_cyl * CYLINDER_KIB / 1024), cap_gb: round2(volume.cap_cyl * CYLINDER_KIB / 1024 / 1024), storageGroupId: [...volume.storageGroupId],
      num_of_storage_groups: volume.storageGroupId.length, snapvx_source: this.snapshots.some((s) => s.source === volume.volumeId),
      snapvx_target: this.snapshots.some((s) => s.linkedDevices.includes(volume.volumeId)), wwn: volume.wwn, effective_wwn: volume.wwn, status: 'Ready',
    };
  }
}

/** Groups a csi-powermax installation starts with: its SRP-bound group, and a parent-style group with no SRP. */
export const DEFAULT_STORAGE_GROUPS: FakeStorageGroup[] = [
  { storageGroupId: 'csi-CSM-Bronze-SRP_1-SG', srp: 'SRP_1', slo: 'Bronze', maskingViews: [] },
  { storageGroupId: 'csi-no-srp-SG', srp: 'NONE', slo: 'NONE', maskingViews: [] },
];

function snapshotSrcJson(snapshot: FakeSnapshot): unknown {
  return { snapshotName: snapshot.name, generation: snapshot.generation, state: 'Established', linkedDevices: snapshot.linkedDevices.map((targetDevice) => ({ targetDevice, defined: true })) };
}

function deviceList(value: unknown, field: string): string[] {
  const names = (Array.isArray(value) ? value : []).map((entry) => objectAt(entry)?.name).filter((name): name is string => typeof name === 'string');
  if (names.length === 0) throw fail(400, `${field} is required`);
  return names;
}

function objectAt(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function isUnisphereError(error: unknown): error is UnisphereError {
  return typeof error === 'object' && error !== null && 'status' in error && 'message' in error && !(error instanceof Error);
}
