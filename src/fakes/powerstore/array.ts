// A fake PowerStore REST API (/api/rest) over HTTPS, faithful to what the CSI PowerStore driver
// (Dell's gopowerstore) and storage-authz use. Sources: the PowerStore REST API Developers Guide
// ("Managing a REST API session", "Querying", "Error messages") and the REST API Reference for each
// resource type; the requests gopowerstore v1.20.1 sends are recorded in
// /work/shared/reference/array-clients/powerstore.md (reference "ps#<n>" below = its sequence row).
//
// Sessions: Basic credentials on any request open a session (an `auth_cookie` cookie and a
// `DELL-EMC-TOKEN` CSRF token in the response headers); a valid cookie authenticates instead. A
// session dies after `idleTimeoutMs` unused. Without valid credentials: 401. A request other than
// GET without the session's DELL-EMC-TOKEN: 403 (CSRF protection), as the array answers.
// It records every request it saw, so a test can prove a denied request never reached it.
import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { FakeArrayServer, type SeenRequest } from '../https.js';

export type { SeenRequest };

export const GIB = 1024 * 1024 * 1024;

export interface FakeVolume {
  id: string;
  name: string;
  description: string;
  /** Provisioned size, bytes (REST reference: volume.size). */
  size: number;
  logical_used: number;
  type: 'Primary' | 'Snapshot' | 'Clone';
  state: 'Ready';
  wwn: string;
  nguid: string;
  appliance_id: string;
  protection_policy_id: string | null;
  volume_groups: { id: string; name: string; protection_policy_id: string | null }[];
  protection_data: { source_id: string | null; parent_id: string | null; family_id: string };
}

export interface FakeFileSystem {
  id: string;
  name: string;
  description: string;
  nas_server_id: string;
  /** Size as seen by the client, bytes (REST reference: file_system.size_total). */
  size_total: number;
  size_used: number;
  filesystem_type: 'Primary' | 'Snapshot';
  parent_id: string | null;
  protection_policy_id: string | null;
}

export interface FakeNfsExport {
  id: string;
  name: string;
  file_system_id: string;
  path: string;
  anonymous_UID: number;
  anonymous_GID: number;
  is_no_SUID: boolean;
  read_write_root_hosts: string[];
  read_only_root_hosts: string[];
  read_write_hosts: string[];
  read_only_hosts: string[];
  no_access_hosts: string[];
}

interface HostVolumeMapping {
  id: string;
  host_id: string | null;
  host_group_id: string | null;
  volume_id: string;
  logical_unit_number: number;
}

export interface FakePowerStoreOptions {
  /** The cluster's global id (CSI's `globalID`; the Storage's systemID). */
  systemId?: string;
  username?: string;
  password?: string;
  /** A session dies after this long unused (the array: login_session.idle_timeout, an hour by default). */
  idleTimeoutMs?: number;
}

interface Session {
  csrfToken: string;
  lastUsedAt: number;
}

interface ApiError {
  status: number;
  code: string;
  message: string;
  arguments?: string[];
}

type Row = Record<string, unknown>;

/** The REST API's answers for the errors its clients tell apart (codes as the array sends them). */
const errors = {
  unauthorized: (): ApiError => ({ status: 401, code: '0xE09010010001', message: 'Authorization failure: the session is invalid or has expired.' }),
  csrf: (): ApiError => ({ status: 403, code: '0xE09010010010', message: 'Invalid or missing DELL-EMC-TOKEN header.' }),
  notFound: (what: string, id: string): ApiError => ({ status: 404, code: '0xE0A08001000E', message: `Could not find the ${what} with ID: ${id}`, arguments: [id] }),
  invalidInstance: (method: string, path: string): ApiError => ({ status: 404, code: '0xE04040020002', message: `Invalid instance, method: ${method}, request: ${path}`, arguments: [path] }),
  badRequest: (message: string): ApiError => ({ status: 400, code: '0xE04040010004', message }),
  nameInUse: (what: string, name: string): ApiError => ({ status: 422, code: '0xE0A070010003', message: `The ${what} name ${name} is already in use.`, arguments: [name] }),
  shrink: (): ApiError => ({ status: 422, code: '0xE0A070010020', message: 'The new size must be larger than the current size.' }),
};

export class FakePowerStore extends FakeArrayServer {
  readonly systemId: string;
  readonly applianceId = 'A1';
  readonly nasServer = { id: '5f0c2c3a-9f4e-4a3a-8a6e-1d2b3c4d5e6f', name: 'nas-1', current_preferred_IPv4_interface_id: '5f0c2c3b-0000-4a3a-8a6e-1d2b3c4d5e6f', current_preferred_IPv6_interface_id: null, nfs_servers: [{ id: '5f0c2c3c-0000-4a3a-8a6e-1d2b3c4d5e6f' }] };
  readonly fileInterface = { id: '5f0c2c3b-0000-4a3a-8a6e-1d2b3c4d5e6f', ip_address: '10.0.0.50' };
  readonly host = { id: '0a9f1b26-f84f-4c43-9f2e-5f1b3c9e2a11', name: 'csi-node-worker-1', description: null, os_type: 'Linux', initiators: [{ port_name: 'iqn.1994-05.com.redhat:worker-1', port_type: 'iSCSI', active_sessions: [] }], host_group_id: null };
  private readonly sessions = new Map<string, Session>(); // cookie → session
  private readonly volumes = new Map<string, FakeVolume>();
  private readonly fileSystems = new Map<string, FakeFileSystem>();
  private readonly nfsExports = new Map<string, FakeNfsExport>();
  private readonly mappings: HostVolumeMapping[] = [];
  private readonly idleTimeoutMs: number;
  private readonly credentials: { username: string; password: string };
  private loginCount = 0;

  private constructor(options: FakePowerStoreOptions) {
    super();
    this.systemId = options.systemId ?? 'PS4ebb8d4e8488';
    this.credentials = { username: options.username ?? 'admin', password: options.password ?? 'Password123!' };
    this.idleTimeoutMs = options.idleTimeoutMs ?? 3600_000;
  }

  /** Starts on a free loopback port with a fresh self-signed certificate for 127.0.0.1 and localhost. */
  static async start(options: FakePowerStoreOptions = {}): Promise<FakePowerStore> {
    return new FakePowerStore(options).listen('fake-powerstore');
  }


  /** How many sessions were opened with Basic credentials. */
  get logins(): number {
    return this.loginCount;
  }

  /** The longest any live session has gone unused, in ms (0 when there is none). */
  get longestIdleMs(): number {
    const now = Date.now();
    return Math.max(0, ...[...this.sessions.values()].map((session) => now - session.lastUsedAt));
  }

  /** Requests that were refused for their credentials (401) or CSRF token (403). */
  readonly refused: SeenRequest[] = [];

  get allVolumes(): FakeVolume[] {
    return [...this.volumes.values()];
  }

  get allFileSystems(): FakeFileSystem[] {
    return [...this.fileSystems.values()];
  }

  get allNfsExports(): FakeNfsExport[] {
    return [...this.nfsExports.values()];
  }

  get allMappings(): readonly HostVolumeMapping[] {
    return this.mappings;
  }

  protected respond(seen: SeenRequest, res: ServerResponse): void {
    const reply = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const fail = (error: ApiError) =>
      reply(error.status, { messages: [{ code: error.code, severity: 'Error', message_l10n: error.message, arguments: error.arguments ?? [] }] });

    const auth = this.authenticate(seen);
    if ('error' in auth) {
      this.refused.push(seen);
      return fail(auth.error);
    }
    try {
      const result = this.route(seen);
      if ('error' in result) return fail(result.error);
      reply(result.status, result.body, { ...auth.headers, ...result.headers });
    } catch (error) {
      fail(errors.badRequest(`Unable to process the request: ${(error as Error).message}`));
    }
  }

  /** Developers Guide, "Connecting and authenticating": cookie, else Basic; non-GET needs DELL-EMC-TOKEN. */
  private authenticate(request: SeenRequest): { headers: Record<string, string> } | { error: ApiError } {
    const now = Date.now();
    for (const [cookie, session] of this.sessions) if (now - session.lastUsedAt >= this.idleTimeoutMs) this.sessions.delete(cookie);
    const cookie = cookieValue(request.headers.cookie, 'auth_cookie');
    let session = cookie === undefined ? undefined : this.sessions.get(cookie);
    let headers: Record<string, string> = {};
    if (!session) {
      if (!this.validBasic(request.headers.authorization)) return { error: errors.unauthorized() };
      const fresh = randomBytes(24).toString('base64url');
      session = { csrfToken: randomBytes(24).toString('base64url'), lastUsedAt: now };
      this.sessions.set(fresh, session);
      this.loginCount += 1;
      headers = { 'set-cookie': `auth_cookie=${fresh}; Path=/; Secure; HttpOnly`, 'dell-emc-token': session.csrfToken };
      // A login opens the session; a mutation still needs the token the login returned.
      if (request.method !== 'GET') return { error: errors.csrf() };
    } else if (request.method !== 'GET' && request.headers['dell-emc-token'] !== session.csrfToken) {
      return { error: errors.csrf() };
    }
    session.lastUsedAt = now;
    return { headers };
  }

  private validBasic(header: string | string[] | undefined): boolean {
    if (typeof header !== 'string' || !header.startsWith('Basic ')) return false;
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    return decoded === `${this.credentials.username}:${this.credentials.password}`;
  }

  private route(request: SeenRequest): { status: number; body?: unknown; headers?: Record<string, string> } | { error: ApiError } {
    const url = new URL(request.path, 'https://array');
    const segments = url.pathname.split('/').filter((segment) => segment !== '');
    if (segments[0] !== 'api' || segments[1] !== 'rest' || segments.length > 5) return { error: errors.invalidInstance(request.method, url.pathname) };
    const [collection = '', id, action] = segments.slice(2);
    const body = request.body === '' ? {} : (JSON.parse(request.body) as Row);
    const list = (rows: Row[]) => this.list(rows, url.searchParams);
    const one = (row: Row | undefined, what: string) => (row ? { status: 200, body: select(row, url.searchParams.get('select')) } : { error: errors.notFound(what, id!) });

    switch (`${request.method} ${collection}${id === undefined ? '' : '/:id'}${action === undefined ? '' : `/${action}`}`) {
      // Developers Guide, "Obtaining login session information" (ps#1).
      case 'GET login_session':
        return { status: 200, body: [{ id: randomUUID(), user: { id: '1' }, role_ids: ['1'], idle_timeout: Math.ceil(this.idleTimeoutMs / 1000), is_password_change_required: false, is_built_in_user: true }] };
      // REST reference: software_installed, cluster (ps#2, ps#3).
      case 'GET software_installed':
        return list([{ id: 'SW1', is_cluster: true, release_version: '4.1.0.0', build_version: '4.1.0.0', build_id: '1' }]);
      case 'GET cluster':
        return list([{ id: '0', global_id: this.systemId, name: 'PS-fake', management_address: '127.0.0.1', state: 'Configured', system_time: new Date().toISOString(), nvm_subsystem_nqn: 'nqn.1988-11.com.dell:powerstore:00:fake' }]);
      case 'GET appliance':
        return list([{ id: this.applianceId, name: 'PS-fake-appliance-1', service_tag: 'FAKE001' }]);
      // REST reference: volume (ps#4..#11, #16..#18).
      case 'GET volume':
        return list([...this.volumes.values()] as unknown as Row[]);
      case 'GET volume/:id':
        return one(this.volumes.get(id!) as unknown as Row | undefined, 'volume');
      case 'POST volume':
        return this.createVolume(body);
      case 'PATCH volume/:id':
        return this.modifyVolume(id!, body);
      case 'DELETE volume/:id':
        return this.deleteVolume(id!);
      case 'POST volume/:id/snapshot':
        return this.derive(id!, body, 'Snapshot');
      case 'POST volume/:id/clone':
        return this.derive(id!, body, 'Clone');
      // REST reference: host, host_volume_mapping (ps#12..#15).
      case 'GET host':
        return list([this.host]);
      case 'GET host/:id':
        return id === this.host.id ? one(this.host, 'host') : { error: errors.notFound('host', id!) };
      case 'GET host_volume_mapping':
        return list(this.mappings as unknown as Row[]);
      case 'POST host/:id/attach':
        return this.attach(id!, body);
      case 'POST host/:id/detach':
        return this.detach(id!, body);
      // REST reference: nas_server, file_interface, file_system, nfs_export (ps#19..#30).
      case 'GET nas_server':
        return list([this.nasServer]);
      case 'GET nas_server/:id':
        return id === this.nasServer.id ? one(this.nasServer, 'NAS server') : { error: errors.notFound('NAS server', id!) };
      case 'GET file_interface/:id':
        return id === this.fileInterface.id ? one(this.fileInterface, 'file interface') : { error: errors.notFound('file interface', id!) };
      case 'GET file_system':
        return list([...this.fileSystems.values()] as unknown as Row[]);
      case 'GET file_system/:id':
        return one(this.fileSystems.get(id!) as unknown as Row | undefined, 'file system');
      case 'POST file_system':
        return this.createFileSystem(body);
      case 'PATCH file_system/:id':
        return this.modifyFileSystem(id!, body);
      case 'DELETE file_system/:id':
        return this.deleteFileSystem(id!);
      case 'POST file_system/:id/snapshot':
        return this.fileSystemSnapshot(id!, body);
      case 'GET nfs_export':
        return list([...this.nfsExports.values()] as unknown as Row[]);
      case 'GET nfs_export/:id':
        return one(this.nfsExports.get(id!) as unknown as Row | undefined, 'NFS export');
      case 'POST nfs_export':
        return this.createExport(body);
      case 'PATCH nfs_export/:id':
        return this.modifyExport(id!, body);
      case 'DELETE nfs_export/:id':
        return this.nfsExports.delete(id!) ? { status: 204 } : { error: errors.notFound('NFS export', id!) };
      default:
        return { error: errors.invalidInstance(request.method, url.pathname) };
    }
  }

  /**
   * Developers Guide, "Querying": `<field>=eq.<value>` filters (`a->>b` for a nested field),
   * `select=` field lists, `limit`/`offset` paging (206 Partial Content with Content-Range while more remain).
   */
  private list(rows: Row[], params: URLSearchParams): { status: number; body: unknown; headers?: Record<string, string> } {
    let matched = rows;
    for (const [key, value] of params) {
      if (['select', 'limit', 'offset', 'order'].includes(key) || !value.startsWith('eq.')) continue;
      const wanted = value.slice(3);
      matched = matched.filter((row) => String(fieldOf(row, key)) === wanted);
    }
    const order = params.get('order');
    if (order) matched = [...matched].sort((a, b) => String(a[order] ?? '').localeCompare(String(b[order] ?? '')));
    const offset = Number(params.get('offset') ?? 0);
    const limit = Number(params.get('limit') ?? 100);
    const page = matched.slice(offset, offset + limit).map((row) => select(row, params.get('select')));
    if (offset + page.length < matched.length) {
      return { status: 206, body: page, headers: { 'content-range': `${offset}-${offset + page.length - 1}/${matched.length}` } };
    }
    return { status: 200, body: page };
  }

  private nameTaken(name: string): boolean {
    return [...this.volumes.values()].some((volume) => volume.name === name) || [...this.fileSystems.values()].some((fs) => fs.name === name);
  }

  /** REST reference: volume create — `name`, `size` (bytes) required; answers `{"id"}` with 201. */
  private createVolume(body: Row): { status: number; body: unknown } | { error: ApiError } {
    const { name, size } = body;
    if (typeof name !== 'string' || name === '') return { error: errors.badRequest('The name is required.') };
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) return { error: errors.badRequest('The size must be a positive number of bytes.') };
    if (this.nameTaken(name)) return { error: errors.nameInUse('volume', name) };
    const volume = this.newVolume(name, size, 'Primary', null, typeof body.description === 'string' ? body.description : '');
    return { status: 201, body: { id: volume.id } };
  }

  private newVolume(name: string, size: number, type: FakeVolume['type'], source: FakeVolume | null, description: string): FakeVolume {
    const id = randomUUID();
    const volume: FakeVolume = {
      id, name, description, size, logical_used: 0, type, state: 'Ready',
      wwn: `naa.68ccf098${randomBytes(12).toString('hex')}`, nguid: `nguid.${randomBytes(16).toString('hex')}`,
      appliance_id: this.applianceId, protection_policy_id: null, volume_groups: [],
      protection_data: { source_id: source?.id ?? null, parent_id: source?.id ?? null, family_id: source?.protection_data.family_id ?? id },
    };
    this.volumes.set(id, volume);
    return volume;
  }

  /** REST reference: volume modify — a larger `size` expands; a smaller one is refused (422). 204. */
  private modifyVolume(id: string, body: Row): { status: number } | { error: ApiError } {
    const volume = this.volumes.get(id);
    if (!volume) return { error: errors.notFound('volume', id) };
    if (body.size !== undefined) {
      if (typeof body.size !== 'number' || !Number.isSafeInteger(body.size)) return { error: errors.badRequest('The size must be a number of bytes.') };
      if (body.size < volume.size) return { error: errors.shrink() };
      volume.size = body.size;
    }
    if (typeof body.description === 'string') volume.description = body.description;
    if (typeof body.protection_policy_id === 'string') volume.protection_policy_id = body.protection_policy_id === '' ? null : body.protection_policy_id;
    return { status: 204 };
  }

  /** REST reference: volume delete — refused (422) while mapped to a host. 204. */
  private deleteVolume(id: string): { status: number } | { error: ApiError } {
    if (!this.volumes.has(id)) return { error: errors.notFound('volume', id) };
    if (this.mappings.some((mapping) => mapping.volume_id === id)) {
      return { error: { status: 422, code: '0xE0A070010015', message: `The volume ${id} is mapped to hosts and cannot be deleted.`, arguments: [id] } };
    }
    this.volumes.delete(id);
    return { status: 204 };
  }

  /** REST reference: volume snapshot / clone — `name`; the new volume has its source's size. 201 `{"id"}`. */
  private derive(id: string, body: Row, type: 'Snapshot' | 'Clone'): { status: number; body: unknown } | { error: ApiError } {
    const source = this.volumes.get(id);
    if (!source) return { error: errors.notFound('volume', id) };
    const { name } = body;
    if (typeof name !== 'string' || name === '') return { error: errors.badRequest('The name is required.') };
    if (this.nameTaken(name)) return { error: type === 'Snapshot' ? { ...errors.nameInUse('snapshot', name), status: 400 } : errors.nameInUse('volume', name) };
    return { status: 201, body: { id: this.newVolume(name, source.size, type === 'Clone' ? 'Primary' : 'Snapshot', source, '').id } };
  }

  /** REST reference: host attach — `volume_id`; a LUN is assigned. 204. */
  private attach(hostId: string, body: Row): { status: number } | { error: ApiError } {
    if (hostId !== this.host.id) return { error: errors.notFound('host', hostId) };
    const volumeId = body.volume_id;
    if (typeof volumeId !== 'string' || !this.volumes.has(volumeId)) return { error: errors.badRequest(`Could not find the volume with ID: ${String(volumeId)}`) };
    if (this.mappings.some((mapping) => mapping.volume_id === volumeId && mapping.host_id === hostId)) {
      return { error: { status: 422, code: '0xE0A070010011', message: 'The volume is already attached to the host.' } };
    }
    this.mappings.push({ id: randomUUID(), host_id: hostId, host_group_id: null, volume_id: volumeId, logical_unit_number: this.mappings.length + 1 });
    return { status: 204 };
  }

  /** REST reference: host detach — `volume_id`; 400 when it is not attached (gopowerstore: VolumeIsNotAttachedToHost). 204. */
  private detach(hostId: string, body: Row): { status: number } | { error: ApiError } {
    if (hostId !== this.host.id) return { error: errors.notFound('host', hostId) };
    const at = this.mappings.findIndex((mapping) => mapping.volume_id === body.volume_id && mapping.host_id === hostId);
    if (at === -1) return { error: errors.badRequest('The volume is not attached to the host.') };
    this.mappings.splice(at, 1);
    return { status: 204 };
  }

  /** REST reference: file_system create — `name`, `nas_server_id`, `size_total` (bytes, 3 GiB at least). 201 `{"id"}`. */
  private createFileSystem(body: Row): { status: number; body: unknown } | { error: ApiError } {
    const { name, nas_server_id: nasServerId, size_total: sizeTotal } = body;
    if (typeof name !== 'string' || name === '') return { error: errors.badRequest('The name is required.') };
    if (nasServerId !== this.nasServer.id) return { error: errors.notFound('NAS server', String(nasServerId)) };
    if (typeof sizeTotal !== 'number' || !Number.isSafeInteger(sizeTotal) || sizeTotal < 3 * GIB) return { error: errors.badRequest('The file system size must be at least 3 GB.') };
    if (this.nameTaken(name)) return { error: errors.nameInUse('file system', name) };
    const fs: FakeFileSystem = {
      id: randomUUID(), name, description: typeof body.description === 'string' ? body.description : '', nas_server_id: this.nasServer.id,
      size_total: sizeTotal, size_used: 0, filesystem_type: 'Primary', parent_id: null, protection_policy_id: null,
    };
    this.fileSystems.set(fs.id, fs);
    return { status: 201, body: { id: fs.id } };
  }

  /** REST reference: file_system modify — `size_total` (bytes, 3 GiB at least) grows or shrinks it. 204. */
  private modifyFileSystem(id: string, body: Row): { status: number } | { error: ApiError } {
    const fs = this.fileSystems.get(id);
    if (!fs) return { error: errors.notFound('file system', id) };
    if (body.size_total !== undefined) {
      if (typeof body.size_total !== 'number' || !Number.isSafeInteger(body.size_total)) return { error: errors.badRequest('The size must be a number of bytes.') };
      if (body.size_total < 3 * GIB) return { error: errors.badRequest('The file system size must be at least 3 GB.') };
      fs.size_total = body.size_total;
    }
    return { status: 204 };
  }

  /** REST reference: file_system delete — its NFS exports go with it. 204. */
  private deleteFileSystem(id: string): { status: number } | { error: ApiError } {
    if (!this.fileSystems.delete(id)) return { error: errors.notFound('file system', id) };
    for (const [exportId, nfsExport] of this.nfsExports) if (nfsExport.file_system_id === id) this.nfsExports.delete(exportId);
    return { status: 204 };
  }

  private fileSystemSnapshot(id: string, body: Row): { status: number; body: unknown } | { error: ApiError } {
    const source = this.fileSystems.get(id);
    if (!source) return { error: errors.notFound('file system', id) };
    if (typeof body.name !== 'string' || body.name === '') return { error: errors.badRequest('The name is required.') };
    if (this.nameTaken(body.name)) return { error: errors.nameInUse('file system', body.name) };
    const snap: FakeFileSystem = { ...source, id: randomUUID(), name: body.name, filesystem_type: 'Snapshot', parent_id: source.id };
    this.fileSystems.set(snap.id, snap);
    return { status: 201, body: { id: snap.id } };
  }

  /** REST reference: nfs_export create — `name`, `file_system_id`, `path`. 201 `{"id"}`. */
  private createExport(body: Row): { status: number; body: unknown } | { error: ApiError } {
    const { name, file_system_id: fileSystemId, path } = body;
    if (typeof fileSystemId !== 'string' || !this.fileSystems.has(fileSystemId)) return { error: errors.notFound('file system', String(fileSystemId)) };
    if (typeof name !== 'string' || name === '' || typeof path !== 'string') return { error: errors.badRequest('The name and path are required.') };
    const nfsExport: FakeNfsExport = {
      id: randomUUID(), name, file_system_id: fileSystemId, path,
      anonymous_UID: typeof body.anonymous_UID === 'number' ? body.anonymous_UID : -2, anonymous_GID: typeof body.anonymous_GID === 'number' ? body.anonymous_GID : -2,
      is_no_SUID: body.is_no_SUID === true, read_write_root_hosts: [], read_only_root_hosts: [], read_write_hosts: [], read_only_hosts: [], no_access_hosts: [],
    };
    this.nfsExports.set(nfsExport.id, nfsExport);
    return { status: 201, body: { id: nfsExport.id } };
  }

  /** REST reference: nfs_export modify — `add_*_hosts` / `remove_*_hosts` lists. 204. */
  private modifyExport(id: string, body: Row): { status: number } | { error: ApiError } {
    const nfsExport = this.nfsExports.get(id);
    if (!nfsExport) return { error: errors.notFound('NFS export', id) };
    for (const list of ['read_write_root_hosts', 'read_only_root_hosts', 'read_write_hosts', 'read_only_hosts', 'no_access_hosts'] as const) {
      const add = body[`add_${list}`];
      const remove = body[`remove_${list}`];
      if (Array.isArray(add)) for (const host of add) if (typeof host === 'string' && !nfsExport[list].includes(host)) nfsExport[list].push(host);
      if (Array.isArray(remove)) nfsExport[list] = nfsExport[list].filter((host) => !remove.includes(host));
    }
    if (typeof body.is_no_SUID === 'boolean') nfsExport.is_no_SUID = body.is_no_SUID;
    return { status: 204 };
  }
}

/** `select=id,name,volume(appliance_id)`: the top-level fields named (nested selections keep the field whole); `*` or none: all. */
function select(row: Row, fields: string | null): Row {
  if (!fields || fields === '*') return row;
  const names = fields.split(/,(?![^(]*\))/).map((field) => field.replace(/\(.*\)$/, '').trim());
  if (names.includes('*')) return row;
  return Object.fromEntries(names.filter((name) => name in row).map((name) => [name, row[name]]));
}

/** `a->>b` reads `row.a.b`. */
function fieldOf(row: Row, key: string): unknown {
  return key.split('->>').reduce<unknown>((value, part) => (typeof value === 'object' && value !== null ? (value as Row)[part] : undefined), row);
}

function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  for (const part of (Array.isArray(header) ? header.join(';') : header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
