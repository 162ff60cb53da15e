// A fake PowerFlex REST gateway over HTTPS, faithful to what the CSI driver (goscaleio v1.21.0,
// csi-powerflex) and storage-authz use, for a 3.x or a 4.x gateway. Each route names the section of
// the PowerFlex REST API reference it follows (the routes and sources are listed in README.md):
// login tokens that expire, objects with the gateway's field names and `links` (goscaleio builds
// its URLs from them), statistics, system limits, 8 GiB allocation granularity, expansion, 4.x
// OAuth-style login with refresh and Bearer tokens, 4.x NFS (NAS servers, file systems, exports),
// and error bodies with the gateway's errorCodes. It records every request it saw (so a test can
// prove a denied request never reached it and which Authorization arrived) and can be told to
// fail the next request (rollback tests).
import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { FakeArrayServer, writeJsonArray, type SeenRequest } from '../https.js';

export type { SeenRequest };

export const GIB_IN_KIB = 1024 * 1024;
const GRANULARITY_KIB = 8 * GIB_IN_KIB;
/** The largest volume the fake allows, as querySystemLimits reports it (`volumeSizeGb`). */
export const MAX_VOLUME_SIZE_GB = 1024 * 1024;

/** 3.x serves `/api` with `Basic ":"+token`; 4.x adds `/rest/auth` (Bearer access tokens) and `/rest/v1` file services. */
export type GatewayVersion = '3.6' | '4.5';

export interface FakePool {
  id: string;
  name: string;
  protectionDomainId: string;
  /** Raw capacity the pool can give, for statistics. */
  maxCapacityInKb: number;
}

export interface FakeMapping {
  sdcId: string;
  sdcIp: string;
  sdcName: string;
  accessMode: string;
  limitIops: number;
  limitBwInMbps: number;
}

export interface FakeVolume {
  id: string;
  name: string;
  sizeInKb: number;
  storagePoolId: string;
  volumeType: string;
  vtreeId: string;
  ancestorVolumeId: string | null;
  creationTime: number;
  mappedSdcInfo: FakeMapping[];
}

export interface FakeSdc {
  id: string;
  sdcGuid: string;
  name: string;
  sdcIp: string;
  sdcApproved: boolean;
}

export interface FakeNasServer {
  id: string;
  name: string;
  storagePoolId: string;
  protectionDomainId: string;
}

export interface FakeFileSystem {
  id: string;
  name: string;
  storagePoolId: string;
  nasServerId: string;
  /** Bytes, as the 4.x file API counts. */
  sizeTotal: number;
  parentId: string | null;
  type: 'Primary' | 'Snapshot';
}

export interface FakeNfsExport {
  id: string;
  name: string;
  fileSystemId: string;
  path: string;
  readWriteHosts: string[];
  readWriteRootHosts: string[];
  readOnlyHosts: string[];
  readOnlyRootHosts: string[];
}

export interface FakeGatewayOptions {
  systemId?: string;
  version?: GatewayVersion;
  username?: string;
  password?: string;
  /** A 3.x token, or a 4.x access token, dies this long after login (3.x: 10 idle minutes, 8 hours at most; 4.x: 5 minutes). */
  tokenTtlMs?: number;
  /** A 4.x refresh token dies this long after login (30 minutes). */
  refreshTokenTtlMs?: number;
  pools?: FakePool[];
  sdcs?: FakeSdc[];
  nasServers?: FakeNasServer[];
}

export const PROTECTION_DOMAIN_ID = '75b661b400000000';

export const DEFAULT_POOLS: FakePool[] = [
  { id: '3df6b86600000000', name: 'bronze', protectionDomainId: PROTECTION_DOMAIN_ID, maxCapacityInKb: 1024 * GIB_IN_KIB },
  { id: '3df6b86700000001', name: 'silver', protectionDomainId: PROTECTION_DOMAIN_ID, maxCapacityInKb: 1024 * GIB_IN_KIB },
];

/** One approved SDC, `worker-1`. */
export const DEFAULT_SDCS: FakeSdc[] = [{ id: '34e49c2000000004', sdcGuid: 'A1B2C3D4-0000-0000-0000-000000000004', name: 'worker-1', sdcIp: '10.0.0.4', sdcApproved: true }];

export const DEFAULT_NAS_SERVERS: FakeNasServer[] = [
  { id: '64132f37-d33e-9d8c-9f12-9e5b3d4c2a10', name: 'nas-1', storagePoolId: DEFAULT_POOLS[0]!.id, protectionDomainId: PROTECTION_DOMAIN_ID },
];

interface GatewayError {
  status: number;
  errorCode: number;
  message: string;
}

const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

interface Answer {
  status: number;
  body?: unknown;
  /** A list answered as a stream (writeJsonArray): each item rendered as it is written. */
  listing?: { items: readonly unknown[]; render: (item: unknown) => unknown };
}

// Error bodies the driver keys on (csi-powerflex compares the messages; errorCodes 6 and 79 as the gateway sends them).
const VOLUME_NOT_FOUND: GatewayError = { status: 500, errorCode: 79, message: 'Could not find the volume' };
const NOT_FOUND_BY_KEY: GatewayError = { status: 500, errorCode: 79, message: 'Not found' };
const NAME_IN_USE: GatewayError = { status: 500, errorCode: 6, message: 'Volume name already in use. Please use a different name.' };
const UNAUTHORIZED: GatewayError = { status: 401, errorCode: 0, message: 'Unauthorized' };

export class FakePowerFlexGateway extends FakeArrayServer {
  readonly systemId: string;
  readonly version: GatewayVersion;
  private readonly sessions = new Map<string, number>(); // 3.x token or 4.x access token → expiry (unix ms)
  private readonly refreshTokens = new Map<string, number>(); // refresh token → expiry (unix ms)
  private readonly volumeById = new Map<string, FakeVolume>();
  // Names are unique on a system; the index keeps create and queryIdByKey O(1) as volumes pile up
  // (a bench makes hundreds of thousands, and a scan per create made the fake its own bottleneck).
  private readonly volumeIdByName = new Map<string, string>();
  private readonly sdcById = new Map<string, FakeSdc>();
  private readonly fileSystemById = new Map<string, FakeFileSystem>();
  private readonly exportById = new Map<string, FakeNfsExport>();
  private readonly pools: FakePool[];
  private readonly nasServers: FakeNasServer[];
  private readonly tokenTtlMs: number;
  private readonly refreshTokenTtlMs: number;
  private credentials: { username: string; password: string };
  private pendingFailure: GatewayError | undefined;

  private constructor(options: FakeGatewayOptions) {
    super();
    this.systemId = options.systemId ?? '542a2d5f5122210f';
    this.version = options.version ?? '3.6';
    this.credentials = { username: options.username ?? 'admin', password: options.password ?? 'Password123!' };
    this.tokenTtlMs = options.tokenTtlMs ?? (this.version === '3.6' ? 10 * 60_000 : 5 * 60_000);
    this.refreshTokenTtlMs = options.refreshTokenTtlMs ?? 30 * 60_000;
    this.pools = options.pools ?? DEFAULT_POOLS;
    this.nasServers = options.nasServers ?? DEFAULT_NAS_SERVERS;
    for (const sdc of options.sdcs ?? DEFAULT_SDCS) {
      this.sdcById.set(sdc.id, { ...sdc });
    }
  }

  /** Starts on a free loopback port with a fresh self-signed certificate for 127.0.0.1 and localhost. */
  static async start(options: FakeGatewayOptions = {}): Promise<FakePowerFlexGateway> {
    return new FakePowerFlexGateway(options).listen('fake-powerflex-gateway');
  }


  /** Requests whose path (trailing '/' and query ignored) ends with `suffix`. */
  requestsTo(suffix: string): SeenRequest[] {
    return this.requests.filter((request) => routePath(request.path).endsWith(suffix.replace(/\/$/, '')));
  }

  /** Tokens this gateway issued (3.x tokens, 4.x access tokens), so a test can check the forwarded Authorization carries one. */
  get issuedTokens(): string[] {
    return [...this.sessions.keys()];
  }

  get volumes(): FakeVolume[] {
    return [...this.volumeById.values()].map((volume) => structuredClone(volume));
  }

  get sdcs(): FakeSdc[] {
    return [...this.sdcById.values()].map((sdc) => ({ ...sdc }));
  }

  get fileSystems(): FakeFileSystem[] {
    return [...this.fileSystemById.values()].map((fs) => ({ ...fs }));
  }

  get nfsExports(): FakeNfsExport[] {
    return [...this.exportById.values()].map((nfs) => structuredClone(nfs));
  }

  /** The next request other than a login is answered with this error and not executed. */
  failNext(status = 500, message = 'Internal error injected by the test', errorCode = 0): void {
    this.pendingFailure = { status, message, errorCode };
  }

  /** Creates a volume as if through the API (8 GiB granularity applies); returns its id. */
  seedVolume(name: string, storagePoolId: string, sizeInKb: number): string {
    return this.createVolume({ name, storagePoolId, volumeSizeInKb: String(sizeInKb) });
  }

  /** Rotates the gateway's credentials (old ones stop working for new logins). */
  setCredentials(username: string, password: string): void {
    this.credentials = { username, password };
  }

  /** Forgets every issued token (4.x: refresh tokens too), like a gateway restart. */
  expireTokens(): void {
    this.sessions.clear();
    this.refreshTokens.clear();
  }

  private get is4x(): boolean {
    return this.version !== '3.6';
  }

  protected respond({ method, path, headers, body }: SeenRequest, res: ServerResponse): void {
    const answer = this.answer(method, routePath(path), headers.authorization as string | undefined, body);
    if (answer.listing) {
      writeJsonArray(res, answer.status, { 'content-type': JSON_CONTENT_TYPE }, answer.listing.items, answer.listing.render).catch(() => res.destroy());
      return;
    }
    const payload = answer.body === undefined ? '' : JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  }

  private answer(method: string, path: string, authorization: string | undefined, body: string): Answer {
    try {
      // REST API reference, "Authentication": GET /api/login (3.x; also served by 4.x) and,
      // 4.x only, POST /rest/auth/login and /rest/auth/refresh (OAuth-style tokens).
      if (path === '/api/login') return this.login(authorization);
      if (this.is4x && method === 'POST' && path === '/rest/auth/login') return this.oauthLogin(parseBody(body));
      if (this.is4x && method === 'POST' && path === '/rest/auth/refresh') return this.oauthRefresh(parseBody(body));
      if (!this.authenticated(method, path, authorization)) return error(UNAUTHORIZED);
      if (this.pendingFailure) {
        const failure = this.pendingFailure;
        this.pendingFailure = undefined;
        return error(failure);
      }
      return this.route(method, path, body);
    } catch (failure) {
      if (isGatewayError(failure)) return error(failure);
      throw failure;
    }
  }

  private login(authorization: string | undefined): Answer {
    const [user, password] = decodeBasic(authorization);
    if (user !== this.credentials.username || password !== this.credentials.password) return error(UNAUTHORIZED);
    const token = randomBytes(24).toString('base64');
    this.sessions.set(token, Date.now() + this.tokenTtlMs);
    return ok(token);
  }

  private oauthLogin(body: Record<string, unknown>): Answer {
    if (body.username !== this.credentials.username || body.password !== this.credentials.password) {
      return error({ status: 401, errorCode: 0, message: 'Invalid user credentials' });
    }
    return ok(this.issueOauthTokens());
  }

  private oauthRefresh(body: Record<string, unknown>): Answer {
    const refreshToken = typeof body.refresh_token === 'string' ? body.refresh_token : '';
    const expiry = this.refreshTokens.get(refreshToken);
    if (expiry === undefined || expiry <= Date.now()) {
      this.refreshTokens.delete(refreshToken);
      return error({ status: 401, errorCode: 0, message: 'Token is not active' });
    }
    this.refreshTokens.delete(refreshToken); // refresh tokens rotate
    return ok(this.issueOauthTokens());
  }

  private issueOauthTokens(): Record<string, unknown> {
    const access = randomBytes(32).toString('base64url');
    const refresh = randomBytes(32).toString('base64url');
    this.sessions.set(access, Date.now() + this.tokenTtlMs);
    this.refreshTokens.set(refresh, Date.now() + this.refreshTokenTtlMs);
    return {
      access_token: access,
      expires_in: Math.floor(this.tokenTtlMs / 1000),
      refresh_expires_in: Math.floor(this.refreshTokenTtlMs / 1000),
      refresh_token: refresh,
      token_type: 'Bearer',
      scope: 'openid profile email',
    };
  }

  /**
   * 3.x: `Basic base64(<any user>:<token>)` with a live token. 4.x: `Bearer <access token>`; goscaleio
   * asks `GET /api/version` with Basic right after its login, before it knows the version, so that
   * one request is accepted either way.
   */
  private authenticated(method: string, path: string, authorization: string | undefined): boolean {
    const bearer = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    const basic = decodeBasic(authorization)[1];
    const versionProbe = method === 'GET' && path === '/api/version';
    const token = this.is4x ? (bearer ?? (versionProbe ? basic : undefined)) : basic;
    const expiry = token === undefined ? undefined : this.sessions.get(token);
    if (expiry === undefined) return false;
    if (expiry > Date.now()) return true;
    this.sessions.delete(token!);
    return false;
  }

  private route(method: string, path: string, body: string): Answer {
    const system = `/api/instances/System::${this.systemId}`;
    let match: RegExpExecArray | null;
    // REST API reference, "Version": GET /api/version.
    if (method === 'GET' && path === '/api/version') return ok(this.version);
    // "System": GET /api/types/System/instances, /api/instances/System::{id}, and its relationships.
    if (method === 'GET' && path === '/api/types/System/instances') return ok([this.systemObject()]);
    if (method === 'GET' && path === system) return ok(this.systemObject());
    if (method === 'GET' && path === `${system}/relationships/Statistics`) return ok(this.statistics(this.volumesIn()));
    if (method === 'GET' && path === `${system}/relationships/ProtectionDomain`) return ok([this.protectionDomainObject()]);
    if (method === 'GET' && path === `${system}/relationships/Sdc`) return ok(this.sdcObjects());
    // "System" actions: querySystemLimits (type-level), approveSdc, snapshotVolumes.
    if (method === 'POST' && (path === '/api/instances/System/action/querySystemLimits' || path === `${system}/action/querySystemLimits`)) return ok(this.systemLimits());
    if (method === 'POST' && path === `${system}/action/approveSdc`) return ok({ id: this.approveSdc(parseBody(body)) });
    if (method === 'POST' && path === `${system}/action/snapshotVolumes`) return ok(this.snapshot(parseBody(body)));
    // "ProtectionDomain": GET /api/types/ProtectionDomain/instances, /api/instances/ProtectionDomain::{id}[/relationships/StoragePool].
    if (method === 'GET' && path === '/api/types/ProtectionDomain/instances') return ok([this.protectionDomainObject()]);
    if (method === 'GET' && path === `/api/instances/ProtectionDomain::${PROTECTION_DOMAIN_ID}`) return ok(this.protectionDomainObject());
    if (method === 'GET' && path === `/api/instances/ProtectionDomain::${PROTECTION_DOMAIN_ID}/relationships/StoragePool`) return ok(this.pools.map((pool) => this.poolObject(pool)));
    // "StoragePool": instances, one pool, its statistics and volumes.
    if (method === 'GET' && path === '/api/types/StoragePool/instances') return ok(this.pools.map((pool) => this.poolObject(pool)));
    if (method === 'GET' && (match = /^\/api\/instances\/StoragePool::([^/]+)(\/relationships\/(Statistics|Volume))?$/.exec(path))) {
      const pool = this.pool(match[1]!);
      if (match[3] === 'Statistics') return ok(this.statistics(this.volumesIn(pool.id), pool.maxCapacityInKb));
      if (match[3] === 'Volume') return listed(this.volumesIn(pool.id), (volume) => this.volumeObject(volume));
      return ok(this.poolObject(pool));
    }
    // "Volume": instances (list, create), queryIdByKey, one volume, its statistics, its VTree.
    if (method === 'GET' && path === '/api/types/Volume/instances') return listed(this.volumesIn(), (volume) => this.volumeObject(volume));
    if (method === 'POST' && path === '/api/types/Volume/instances') return ok({ id: this.createVolume(parseBody(body)) });
    if (method === 'POST' && path === '/api/types/Volume/instances/action/queryIdByKey') {
      const { name } = parseBody(body);
      const id = typeof name === 'string' ? this.volumeIdByName.get(name) : undefined;
      if (id === undefined) throw NOT_FOUND_BY_KEY;
      return ok(id);
    }
    if (method === 'GET' && (match = /^\/api\/instances\/Volume::([^/]+)(\/relationships\/Statistics)?$/.exec(path))) {
      const volume = this.volume(match[1]!);
      return ok(match[2] ? this.volumeStatistics(volume) : this.volumeObject(volume));
    }
    if (method === 'GET' && (match = /^\/api\/instances\/VTree::([^/]+)$/.exec(path))) return ok(this.vtree(match[1]!));
    // "Volume" actions: removeVolume, addMappedSdc, removeMappedSdc, setMappedSdcLimits, setVolumeMappingAccessMode, setVolumeSize.
    if (method === 'POST' && (match = /^\/api\/instances\/Volume::([^/]+)\/action\/([A-Za-z]+)$/.exec(path))) {
      return this.volumeAction(this.mutableVolume(match[1]!), match[2]!, parseBody(body));
    }
    // "Sdc": instances and one SDC.
    if (method === 'GET' && path === '/api/types/Sdc/instances') return ok(this.sdcObjects());
    if (method === 'GET' && (match = /^\/api\/instances\/Sdc::([^/]+)$/.exec(path))) {
      const sdc = this.sdcById.get(match[1]!);
      if (!sdc) throw { status: 500, errorCode: 145, message: 'Could not find the SDC' } satisfies GatewayError;
      return ok(this.sdcObject(sdc));
    }
    if (this.is4x && path.startsWith('/rest/v1/')) return this.fileRoute(method, path, body);
    return error({ status: 404, errorCode: 0, message: `No such resource: ${method} ${path}` });
  }

  /** PowerFlex 4.x REST API reference, "File": nas-servers, file-systems, nfs-exports (`?select=*` is ignored: every field is sent). */
  private fileRoute(method: string, path: string, body: string): Answer {
    const [, , , collection, id, sub] = path.split('/');
    if (collection === 'nas-servers' && method === 'GET') {
      if (id === undefined) return ok(this.nasServers.map((nas) => nasObject(nas)));
      const nas = this.nasServers.find((candidate) => candidate.id === id);
      if (!nas) throw fileNotFound('NAS server', id);
      return ok(nasObject(nas));
    }
    if (collection === 'file-systems') {
      if (id === undefined && method === 'GET') return ok(this.fileSystems.map((fs) => fileSystemObject(fs)));
      if (id === undefined && method === 'POST') return { status: 201, body: { id: this.createFileSystem(parseBody(body)) } };
      const fs = this.fileSystemById.get(id ?? '');
      if (!fs) throw fileNotFound('file system', id ?? '');
      if (sub === undefined && method === 'GET') return ok(fileSystemObject(fs));
      if (sub === undefined && method === 'PATCH') return this.modifyFileSystem(fs, parseBody(body));
      if (sub === undefined && method === 'DELETE') return this.deleteFileSystem(fs);
      if (sub === 'snapshot' && method === 'POST') return { status: 201, body: { id: this.snapshotFileSystem(fs, parseBody(body)) } };
      if (sub === 'restore' && method === 'POST') {
        // "File system" restore: the data of one of its snapshots back into it (data is not modelled).
        const { snapshot_id: snapshotId } = parseBody(body);
        if (this.fileSystemById.get(String(snapshotId))?.parentId !== fs.id) throw fileNotFound('snapshot of file system', fs.id);
        return { status: 204 };
      }
    }
    if (collection === 'nfs-exports') {
      if (id === undefined && method === 'GET') return ok(this.nfsExports.map((nfs) => nfsExportObject(nfs)));
      if (id === undefined && method === 'POST') return { status: 201, body: { id: this.createNfsExport(parseBody(body)) } };
      const nfs = this.exportById.get(id ?? '');
      if (!nfs) throw fileNotFound('NFS export', id ?? '');
      if (sub === undefined && method === 'GET') return ok(nfsExportObject(nfs));
      if (sub === undefined && method === 'PATCH') return this.modifyNfsExport(nfs, parseBody(body));
      if (sub === undefined && method === 'DELETE') {
        this.exportById.delete(nfs.id);
        return { status: 204 };
      }
    }
    return error({ status: 404, errorCode: 0, message: `No such resource: ${method} ${path}` });
  }

  private systemObject(): Record<string, unknown> {
    const self = `/api/instances/System::${this.systemId}`;
    return {
      id: this.systemId,
      name: 'fake-powerflex',
      systemVersionName: this.is4x ? 'DellEMC PowerFlex Version: R4_5.0.0' : 'DellEMC PowerFlex Version: R3_6.0.0',
      mdmClusterState: 'ClusteredNormal',
      mdmMode: 'ThreeNodes',
      restrictedSdcModeEnabled: false,
      restrictedSdcMode: 'None',
      perfProfile: 'Compact',
      installId: '1c2b3a4d5e6f7081',
      links: [
        link('self', self),
        link('/api/System/relationship/Statistics', `${self}/relationships/Statistics`),
        link('/api/System/relationship/ProtectionDomain', `${self}/relationships/ProtectionDomain`),
        link('/api/System/relationship/Sdc', `${self}/relationships/Sdc`),
      ],
    };
  }

  private protectionDomainObject(): Record<string, unknown> {
    const self = `/api/instances/ProtectionDomain::${PROTECTION_DOMAIN_ID}`;
    return {
      id: PROTECTION_DOMAIN_ID,
      name: 'pd-1',
      systemId: this.systemId,
      protectionDomainState: 'Active',
      links: [
        link('self', self),
        link('/api/ProtectionDomain/relationship/StoragePool', `${self}/relationships/StoragePool`),
        link('/api/parent/relationship/systemId', `/api/instances/System::${this.systemId}`),
      ],
    };
  }

  private poolObject(pool: FakePool): Record<string, unknown> {
    const self = `/api/instances/StoragePool::${pool.id}`;
    return {
      id: pool.id,
      name: pool.name,
      protectionDomainId: pool.protectionDomainId,
      mediaType: 'HDD',
      dataLayout: 'MediumGranularity',
      useRmcache: false,
      zeroPaddingEnabled: true,
      links: [
        link('self', self),
        link('/api/StoragePool/relationship/Statistics', `${self}/relationships/Statistics`),
        link('/api/StoragePool/relationship/Volume', `${self}/relationships/Volume`),
        link('/api/parent/relationship/protectionDomainId', `/api/instances/ProtectionDomain::${pool.protectionDomainId}`),
      ],
    };
  }

  /** The fields csi-powerflex reads (volumeReplicationState decides whether an expansion also expands a replica pair). */
  private volumeObject(volume: FakeVolume): Record<string, unknown> {
    const self = `/api/instances/Volume::${volume.id}`;
    return {
      id: volume.id,
      name: volume.name,
      sizeInKb: volume.sizeInKb,
      storagePoolId: volume.storagePoolId,
      volumeType: volume.volumeType,
      vtreeId: volume.vtreeId,
      ancestorVolumeId: volume.ancestorVolumeId,
      creationTime: volume.creationTime,
      consistencyGroupId: null,
      mappingToAllSdcsEnabled: false,
      mappedSdcInfo: volume.mappedSdcInfo.map((mapping) => ({ ...mapping, isDirectBufferMapping: false, hostType: 'SdcHost' })),
      volumeReplicationState: 'UnmarkedForReplication',
      replicationJournalVolume: false,
      accessModeLimit: 'ReadWrite',
      dataLayout: 'MediumGranularity',
      genType: 'EC',
      compressionMethod: 'Invalid',
      useRmcache: false,
      isObfuscated: false,
      notGenuineSnapshot: false,
      links: [
        link('self', self),
        link('/api/Volume/relationship/Statistics', `${self}/relationships/Statistics`),
        link('/api/parent/relationship/vtreeId', `/api/instances/VTree::${volume.vtreeId}`),
        link('/api/parent/relationship/storagePoolId', `/api/instances/StoragePool::${volume.storagePoolId}`),
      ],
    };
  }

  private sdcObject(sdc: FakeSdc): Record<string, unknown> {
    const self = `/api/instances/Sdc::${sdc.id}`;
    return {
      ...sdc,
      mdmConnectionState: 'Connected',
      sdcType: 'AppServer',
      hostType: 'SdcHost',
      links: [
        link('self', self),
        link('/api/Sdc/relationship/Statistics', `${self}/relationships/Statistics`),
        link('/api/Sdc/relationship/Volume', `${self}/relationships/Volume`),
        link('/api/parent/relationship/systemId', `/api/instances/System::${this.systemId}`),
      ],
    };
  }

  private sdcObjects(): Record<string, unknown>[] {
    return [...this.sdcById.values()].map((sdc) => this.sdcObject(sdc));
  }

  private vtree(id: string): Record<string, unknown> {
    const members = [...this.volumeById.values()].filter((volume) => volume.vtreeId === id);
    const base = members.find((volume) => volume.ancestorVolumeId === null);
    if (!base) throw { status: 500, errorCode: 79, message: 'Could not find the VTree' } satisfies GatewayError;
    return {
      id,
      name: base.name,
      baseVolumeId: base.id,
      storagePoolId: base.storagePoolId,
      dataLayout: 'MediumGranularity',
      links: [link('self', `/api/instances/VTree::${id}`)],
    };
  }

  /** "System" / "StoragePool" Statistics: the capacity fields csi-powerflex's GetCapacity reads. */
  private statistics(volumes: FakeVolume[], maxCapacityInKb = this.pools.reduce((sum, pool) => sum + pool.maxCapacityInKb, 0)): Record<string, number> {
    const inUse = volumes.reduce((sum, volume) => sum + volume.sizeInKb, 0);
    return {
      maxCapacityInKb,
      capacityInUseInKb: inUse,
      thinCapacityInUseInKb: inUse,
      thickCapacityInUseInKb: 0,
      capacityAvailableForVolumeAllocationInKb: Math.max(0, Math.floor((maxCapacityInKb - inUse) / 2)),
      capacityLimitInKb: maxCapacityInKb,
      numOfVolumes: volumes.filter((volume) => volume.ancestorVolumeId === null).length,
      numOfSnapshots: volumes.filter((volume) => volume.ancestorVolumeId !== null).length,
      numOfStoragePools: this.pools.length,
      numOfProtectionDomains: 1,
      numOfSdc: this.sdcById.size,
    };
  }

  private volumeStatistics(volume: FakeVolume): Record<string, unknown> {
    return {
      numOfMappedSdcs: volume.mappedSdcInfo.length,
      userDataReadBwc: { numSeconds: 0, totalWeightInKb: 0, numOccured: 0 },
      userDataWriteBwc: { numSeconds: 0, totalWeightInKb: 0, numOccured: 0 },
    };
  }

  /** "System" querySystemLimits: `volumeSizeGb` is what csi-powerflex reports as the maximum volume size. */
  private systemLimits(): Record<string, unknown> {
    return {
      systemLimitEntryList: [
        { type: 'volumeSizeGb', description: 'Maximum volume size in GB', maxVal: String(MAX_VOLUME_SIZE_GB) },
        { type: 'numOfVolumesPerSystem', description: 'Maximum number of volumes per system', maxVal: '131072' },
        { type: 'numOfSnapshotsPerVolume', description: 'Maximum number of snapshots per volume', maxVal: '126' },
      ],
    };
  }

  private volumesIn(poolId?: string): FakeVolume[] {
    return [...this.volumeById.values()].filter((volume) => poolId === undefined || volume.storagePoolId === poolId);
  }

  private pool(id: string): FakePool {
    const pool = this.pools.find((candidate) => candidate.id === id);
    if (!pool) throw { status: 500, errorCode: 3, message: 'Could not find the Storage Pool' } satisfies GatewayError;
    return pool;
  }

  private volume(id: string): FakeVolume {
    return structuredClone(this.mutableVolume(id));
  }

  private mutableVolume(id: string): FakeVolume {
    const volume = this.volumeById.get(id);
    if (!volume) throw VOLUME_NOT_FOUND;
    return volume;
  }

  private createVolume(body: Record<string, unknown>): string {
    const { name, storagePoolId, volumeSizeInKb, volumeType } = body;
    if (typeof name !== 'string' || name === '') throw invalidParameter('name');
    if (!this.pools.some((pool) => pool.id === storagePoolId)) throw { status: 500, errorCode: 3, message: 'Invalid Storage Pool. Please try again with a valid ID or name.' } satisfies GatewayError;
    const requested = Number(volumeSizeInKb);
    if (!Number.isSafeInteger(requested) || requested <= 0) throw invalidParameter('volumeSizeInKb');
    if (this.volumeIdByName.has(name)) throw NAME_IN_USE;
    const id = randomBytes(8).toString('hex');
    this.volumeIdByName.set(name, id);
    this.volumeById.set(id, {
      id,
      name,
      sizeInKb: Math.ceil(requested / GRANULARITY_KIB) * GRANULARITY_KIB,
      storagePoolId: storagePoolId as string,
      volumeType: typeof volumeType === 'string' ? volumeType : 'ThinProvisioned',
      vtreeId: randomBytes(8).toString('hex'),
      ancestorVolumeId: null,
      creationTime: Math.floor(Date.now() / 1000),
      mappedSdcInfo: [],
    });
    return id;
  }

  private volumeAction(volume: FakeVolume, action: string, body: Record<string, unknown>): Answer {
    switch (action) {
      case 'removeVolume':
        if (volume.mappedSdcInfo.length > 0) throw { status: 500, errorCode: 108, message: 'Only a volume which is not mapped to any SDC can be removed' } satisfies GatewayError;
        this.volumeById.delete(volume.id);
        this.volumeIdByName.delete(volume.name);
        return { status: 200 };
      case 'addMappedSdc':
        this.mapVolume(volume, body);
        return { status: 200 };
      case 'removeMappedSdc':
        this.unmapVolume(volume, body);
        return { status: 200 };
      case 'setMappedSdcLimits': {
        const mapping = this.mappingOf(volume, body.sdcId);
        if (body.iopsLimit !== undefined) mapping.limitIops = Number(body.iopsLimit);
        if (body.bandwidthLimitInKbps !== undefined) mapping.limitBwInMbps = Math.floor(Number(body.bandwidthLimitInKbps) / 1024);
        return { status: 200 };
      }
      case 'setVolumeMappingAccessMode':
        if (typeof body.accessMode !== 'string') throw invalidParameter('accessMode');
        this.mappingOf(volume, body.sdcId).accessMode = body.accessMode;
        return { status: 200 };
      case 'overwriteVolumeContent': {
        // "Volume" overwriteVolumeContent: the source's data into this volume (data is not modelled).
        if (!this.volumeById.has(String(body.srcVolumeId))) throw VOLUME_NOT_FOUND;
        return { status: 200 };
      }
      case 'setVolumeSize': {
        // "Volume" setVolumeSize: the size is whole GiB, allocated in 8 GiB units; it can only grow.
        const gib = Number(body.sizeInGB);
        if (!Number.isSafeInteger(gib) || gib <= 0 || gib > MAX_VOLUME_SIZE_GB) throw invalidParameter('sizeInGB');
        const sizeInKb = Math.ceil((gib * GIB_IN_KIB) / GRANULARITY_KIB) * GRANULARITY_KIB;
        if (sizeInKb < volume.sizeInKb) throw { status: 500, errorCode: 98, message: 'The new volume size must be larger than the current size' } satisfies GatewayError;
        volume.sizeInKb = sizeInKb;
        return { status: 200 };
      }
      default:
        return error({ status: 404, errorCode: 0, message: `No such action: ${action}` });
    }
  }

  private mappingOf(volume: FakeVolume, sdcId: unknown): FakeMapping {
    const mapping = volume.mappedSdcInfo.find((candidate) => candidate.sdcId === sdcId);
    if (!mapping) throw { status: 500, errorCode: 80, message: 'The volume is not mapped to the SDC' } satisfies GatewayError;
    return mapping;
  }

  private mapVolume(volume: FakeVolume, body: Record<string, unknown>): void {
    const sdc = this.sdcById.get(String(body.sdcId));
    if (!sdc) throw { status: 500, errorCode: 145, message: 'Could not find the SDC' } satisfies GatewayError;
    if (volume.mappedSdcInfo.some((mapping) => mapping.sdcId === sdc.id)) {
      throw { status: 500, errorCode: 81, message: 'The volume is already mapped to this SDC' } satisfies GatewayError;
    }
    const accessMode = typeof body.accessMode === 'string' ? body.accessMode : 'ReadWrite';
    volume.mappedSdcInfo.push({ sdcId: sdc.id, sdcIp: sdc.sdcIp, sdcName: sdc.name, accessMode, limitIops: 0, limitBwInMbps: 0 });
  }

  /** `removeMappedSdc` with `sdcId`, or with `allSdcs` to drop every mapping. */
  private unmapVolume(volume: FakeVolume, body: Record<string, unknown>): void {
    if (body.allSdcs !== undefined && body.allSdcs !== '') {
      volume.mappedSdcInfo = [];
      return;
    }
    const before = volume.mappedSdcInfo.length;
    volume.mappedSdcInfo = volume.mappedSdcInfo.filter((mapping) => mapping.sdcId !== body.sdcId);
    if (volume.mappedSdcInfo.length === before) throw { status: 500, errorCode: 80, message: 'The volume is not mapped to the SDC' } satisfies GatewayError;
  }

  private approveSdc(body: Record<string, unknown>): string {
    const { sdcGuid } = body;
    if (typeof sdcGuid !== 'string' || sdcGuid === '') throw invalidParameter('sdcGuid');
    const existing = [...this.sdcById.values()].find((sdc) => sdc.sdcGuid === sdcGuid);
    if (existing) {
      existing.sdcApproved = true;
      return existing.id;
    }
    const id = randomBytes(8).toString('hex');
    this.sdcById.set(id, { id, sdcGuid, name: typeof body.name === 'string' ? body.name : '', sdcIp: '', sdcApproved: true });
    return id;
  }

  private snapshot(body: Record<string, unknown>): { volumeIdList: string[]; snapshotGroupId: string } {
    const definitions = body.snapshotDefs;
    if (!Array.isArray(definitions) || definitions.length === 0) throw invalidParameter('snapshotDefs');
    const sources = (definitions as { volumeId?: unknown; snapshotName?: unknown }[]).map((definition) => {
      const source = this.volumeById.get(String(definition.volumeId));
      if (!source) throw VOLUME_NOT_FOUND;
      if (typeof definition.snapshotName !== 'string' || definition.snapshotName === '') throw invalidParameter('snapshotName');
      if (this.volumeIdByName.has(definition.snapshotName)) throw NAME_IN_USE;
      return { source, name: definition.snapshotName };
    });
    const volumeIdList = sources.map(({ source, name }) => {
      const id = randomBytes(8).toString('hex');
      this.volumeIdByName.set(name, id);
      this.volumeById.set(id, { ...structuredClone(source), id, name, ancestorVolumeId: source.id, volumeType: 'Snapshot', creationTime: Math.floor(Date.now() / 1000), mappedSdcInfo: [] });
      return id;
    });
    return { volumeIdList, snapshotGroupId: randomBytes(8).toString('hex') };
  }

  private createFileSystem(body: Record<string, unknown>): string {
    const { name, size_total: sizeTotal, storage_pool_id: poolId, nas_server_id: nasId } = body;
    if (typeof name !== 'string' || name === '') throw invalidParameter('name');
    if (!this.pools.some((pool) => pool.id === poolId)) throw { status: 400, errorCode: 3, message: 'Invalid Storage Pool. Please try again with a valid ID or name.' } satisfies GatewayError;
    if (!this.nasServers.some((nas) => nas.id === nasId)) throw fileNotFound('NAS server', String(nasId));
    if (typeof sizeTotal !== 'number' || !Number.isSafeInteger(sizeTotal) || sizeTotal <= 0) throw invalidParameter('size_total');
    if ([...this.fileSystemById.values()].some((fs) => fs.name === name)) throw { status: 422, errorCode: 6, message: `The file system name ${name} is already in use` } satisfies GatewayError;
    const id = randomUUID();
    this.fileSystemById.set(id, { id, name, storagePoolId: poolId as string, nasServerId: nasId as string, sizeTotal, parentId: null, type: 'Primary' });
    return id;
  }

  private modifyFileSystem(fs: FakeFileSystem, body: Record<string, unknown>): Answer {
    if (body.size_total !== undefined) {
      const size = body.size_total;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) throw invalidParameter('size_total');
      if (size < fs.sizeTotal) throw { status: 422, errorCode: 0, message: 'The new size of the file system must be larger than its current size' } satisfies GatewayError;
      this.fileSystemById.set(fs.id, { ...fs, sizeTotal: size });
    }
    return { status: 204 };
  }

  private deleteFileSystem(fs: FakeFileSystem): Answer {
    if ([...this.exportById.values()].some((nfs) => nfs.fileSystemId === fs.id)) {
      throw { status: 422, errorCode: 0, message: 'The file system has NFS exports and cannot be deleted' } satisfies GatewayError;
    }
    this.fileSystemById.delete(fs.id);
    return { status: 204 };
  }

  private snapshotFileSystem(fs: FakeFileSystem, body: Record<string, unknown>): string {
    if (typeof body.name !== 'string' || body.name === '') throw invalidParameter('name');
    const id = randomUUID();
    this.fileSystemById.set(id, { ...fs, id, name: body.name, parentId: fs.id, type: 'Snapshot' });
    return id;
  }

  private createNfsExport(body: Record<string, unknown>): string {
    const { name, file_system_id: fsId, path } = body;
    if (typeof name !== 'string' || name === '') throw invalidParameter('name');
    if (!this.fileSystemById.has(String(fsId))) throw fileNotFound('file system', String(fsId));
    if (typeof path !== 'string' || !path.startsWith('/')) throw invalidParameter('path');
    const hosts = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
    const id = randomUUID();
    this.exportById.set(id, {
      id, name, fileSystemId: fsId as string, path,
      readWriteHosts: hosts(body.read_write_hosts), readWriteRootHosts: hosts(body.read_write_root_hosts),
      readOnlyHosts: hosts(body.read_only_hosts), readOnlyRootHosts: hosts(body.read_only_root_hosts),
    });
    return id;
  }

  private modifyNfsExport(nfs: FakeNfsExport, body: Record<string, unknown>): Answer {
    const list = (key: string) => (Array.isArray(body[key]) ? (body[key] as unknown[]).map(String) : []);
    for (const [field, key] of [['readWriteHosts', 'read_write_hosts'], ['readWriteRootHosts', 'read_write_root_hosts'], ['readOnlyHosts', 'read_only_hosts'], ['readOnlyRootHosts', 'read_only_root_hosts']] as const) {
      const current = new Set(nfs[field]);
      for (const host of list(`add_${key}`)) current.add(host);
      for (const host of list(`remove_${key}`)) current.delete(host);
      nfs[field] = [...current];
    }
    return { status: 204 };
  }
}

function link(rel: string, href: string): { rel: string; href: string } {
  return { rel, href };
}

function nasObject(nas: FakeNasServer): Record<string, unknown> {
  return { id: nas.id, name: nas.name, storage_pool_id: nas.storagePoolId, protection_domain_id: nas.protectionDomainId, operational_status: 'Started', nfs_servers: [] };
}

function fileSystemObject(fs: FakeFileSystem): Record<string, unknown> {
  return {
    id: fs.id, name: fs.name, storage_pool_id: fs.storagePoolId, nas_server_id: fs.nasServerId, parent_id: fs.parentId ?? '',
    type: fs.type, size_total: fs.sizeTotal, size_used: 0, is_read_only: fs.type === 'Snapshot', is_quota_enabled: false,
    access_policy: 'Native', locking_policy: 'Advisory', creation_timestamp: new Date().toISOString(),
  };
}

function nfsExportObject(nfs: FakeNfsExport): Record<string, unknown> {
  return {
    id: nfs.id, name: nfs.name, file_system_id: nfs.fileSystemId, path: nfs.path, default_access: 'No_Access',
    read_write_hosts: nfs.readWriteHosts, read_write_root_hosts: nfs.readWriteRootHosts,
    read_only_hosts: nfs.readOnlyHosts, read_only_root_hosts: nfs.readOnlyRootHosts,
  };
}

/** The gateway serves paths with and without the trailing '/' (Dell forwards with one); the query is not routing. */
function routePath(path: string): string {
  const withoutQuery = path.split('?')[0]!;
  return withoutQuery.length > 1 ? withoutQuery.replace(/\/+$/, '') : withoutQuery;
}

function decodeBasic(authorization: string | undefined): [string | undefined, string | undefined] {
  const match = /^Basic (.+)$/i.exec(authorization ?? '');
  if (!match) return [undefined, undefined];
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? [undefined, undefined] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

function parseBody(body: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // answered below like the gateway does
  }
  throw { status: 400, errorCode: 0, message: 'Request body is not a valid JSON object' } satisfies GatewayError;
}

function invalidParameter(name: string): GatewayError {
  return { status: 500, errorCode: 0, message: `Invalid parameter: ${name}` };
}

function fileNotFound(what: string, id: string): GatewayError {
  return { status: 404, errorCode: 79, message: `Could not find the ${what} ${id}` };
}

function isGatewayError(value: unknown): value is GatewayError {
  return typeof value === 'object' && value !== null && 'errorCode' in value && 'status' in value && 'message' in value;
}

function ok(body: unknown): Answer {
  return { status: 200, body };
}

/** A volume list (up to ~131k on a system): streamed, each volume rendered as it is written. */
function listed<T>(items: readonly T[], render: (item: T) => unknown): Answer {
  return { status: 200, listing: { items, render: render as (item: unknown) => unknown } };
}

function error(failure: GatewayError): Answer {
  return { status: failure.status, body: { message: failure.message, httpStatusCode: failure.status, errorCode: failure.errorCode } };
}
