// A fake PowerFlex REST gateway over HTTPS, faithful to what the CSI driver (goscaleio) and
// storage-authz use: login tokens that expire, System / StoragePool / Volume / Sdc objects with the
// real field names, 8 GiB allocation granularity, the real error body and status codes. It records
// every request it saw (so a test can prove a denied request never reached it and which
// Authorization arrived) and can be told to fail the next request (rollback tests).
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

export const GIB_IN_KIB = 1024 * 1024;
const GRANULARITY_KIB = 8 * GIB_IN_KIB;

export interface FakePool {
  id: string;
  name: string;
  protectionDomainId: string;
  /** Raw capacity the pool can give, for statistics. */
  maxCapacityInKb: number;
}

export interface FakeVolume {
  id: string;
  name: string;
  sizeInKb: number;
  storagePoolId: string;
  volumeType: string;
  ancestorVolumeId: string | null;
  mappedSdcInfo: { sdcId: string; sdcIp: string; accessMode: string }[];
}

export interface FakeSdc {
  id: string;
  sdcGuid: string;
  name: string;
  sdcIp: string;
  sdcApproved: boolean;
}

export interface SeenRequest {
  method: string;
  /** The path as received, with query. */
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: string;
}

export interface FakeGatewayOptions {
  systemId?: string;
  username?: string;
  password?: string;
  /** A token dies this long after login (the real gateway: 10 idle minutes, 8 hours at most). */
  tokenTtlMs?: number;
  pools?: FakePool[];
  sdcs?: FakeSdc[];
}

export const DEFAULT_POOLS: FakePool[] = [
  { id: '3df6b86600000000', name: 'bronze', protectionDomainId: '75b661b400000000', maxCapacityInKb: 1024 * GIB_IN_KIB },
  { id: '3df6b86700000001', name: 'silver', protectionDomainId: '75b661b400000000', maxCapacityInKb: 1024 * GIB_IN_KIB },
];

interface GatewayError {
  status: number;
  errorCode: number;
  message: string;
}

const NOT_FOUND: GatewayError = { status: 500, errorCode: 79, message: 'Could not find the volume' };

export class FakePowerFlexGateway {
  readonly systemId: string;
  readonly ca: string;
  private readonly seen: SeenRequest[] = [];
  private readonly tokens = new Map<string, number>(); // token → expiry (unix ms)
  private readonly volumeById = new Map<string, FakeVolume>();
  private readonly sdcById = new Map<string, FakeSdc>();
  private readonly pools: FakePool[];
  private readonly tokenTtlMs: number;
  private credentials: { username: string; password: string };
  private pendingFailure: GatewayError | undefined;
  private server!: Server;

  private constructor(options: FakeGatewayOptions, ca: string) {
    this.systemId = options.systemId ?? '542a2d5f5122210f';
    this.credentials = { username: options.username ?? 'admin', password: options.password ?? 'Password123!' };
    this.tokenTtlMs = options.tokenTtlMs ?? 10 * 60_000;
    this.pools = options.pools ?? DEFAULT_POOLS;
    for (const sdc of options.sdcs ?? [{ id: '34e49c2000000004', sdcGuid: 'A1B2C3D4-0000-0000-0000-000000000004', name: 'worker-1', sdcIp: '10.0.0.4', sdcApproved: true }]) {
      this.sdcById.set(sdc.id, { ...sdc });
    }
    this.ca = ca;
  }

  /** Starts on a free loopback port with a fresh self-signed certificate for 127.0.0.1 and localhost. */
  static async start(options: FakeGatewayOptions = {}): Promise<FakePowerFlexGateway> {
    const pems = await generate([{ name: 'commonName', value: 'fake-powerflex-gateway' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
      ],
    });
    const gateway = new FakePowerFlexGateway(options, pems.cert);
    gateway.server = createServer({ cert: pems.cert, key: pems.private }, (req, res) => gateway.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      gateway.server.once('error', reject);
      gateway.server.listen(0, '127.0.0.1', () => resolve());
    });
    return gateway;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Every request received, oldest first (login included). */
  get requests(): readonly SeenRequest[] {
    return this.seen;
  }

  /** Requests whose path (trailing '/' and query ignored) ends with `suffix`. */
  requestsTo(suffix: string): SeenRequest[] {
    return this.seen.filter((request) => routePath(request.path).endsWith(suffix.replace(/\/$/, '')));
  }

  /** Tokens this gateway issued, so a test can check the forwarded Authorization carries one of them. */
  get issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  get volumes(): FakeVolume[] {
    return [...this.volumeById.values()].map((volume) => structuredClone(volume));
  }

  get sdcs(): FakeSdc[] {
    return [...this.sdcById.values()].map((sdc) => ({ ...sdc }));
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

  /** Forgets every issued token, like a gateway restart. */
  expireTokens(): void {
    this.tokens.clear();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      this.seen.push({ method, path, headers: { ...req.headers }, body });
      const answer = this.answer(method, routePath(path), req.headers.authorization, body);
      const payload = answer.body === undefined ? '' : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    });
  }

  private answer(method: string, path: string, authorization: string | undefined, body: string): { status: number; body?: unknown } {
    if (path === '/api/login') return this.login(authorization);
    if (!this.validToken(authorization)) return error({ status: 401, errorCode: 0, message: 'Unauthorized' });
    if (this.pendingFailure) {
      const failure = this.pendingFailure;
      this.pendingFailure = undefined;
      return error(failure);
    }
    try {
      return this.route(method, path, body);
    } catch (failure) {
      if (isGatewayError(failure)) return error(failure);
      throw failure;
    }
  }

  private login(authorization: string | undefined): { status: number; body?: unknown } {
    const [user, password] = decodeBasic(authorization);
    if (user !== this.credentials.username || password !== this.credentials.password) {
      return error({ status: 401, errorCode: 0, message: 'Unauthorized' });
    }
    const token = randomBytes(24).toString('base64');
    this.tokens.set(token, Date.now() + this.tokenTtlMs);
    return { status: 200, body: token };
  }

  /** Accepts `Basic base64(<any user>:<token>)` with a live token, as the gateway does. */
  private validToken(authorization: string | undefined): boolean {
    const [, token] = decodeBasic(authorization);
    const expiry = token === undefined ? undefined : this.tokens.get(token);
    if (expiry === undefined) return false;
    if (expiry > Date.now()) return true;
    this.tokens.delete(token!);
    return false;
  }

  private route(method: string, path: string, body: string): { status: number; body?: unknown } {
    const system = `/api/instances/System::${this.systemId}`;
    const volumeAction = /^\/api\/instances\/Volume::([^/]+)\/action\/([A-Za-z]+)$/.exec(path);
    const volumeGet = /^\/api\/instances\/Volume::([^/]+)$/.exec(path);
    const poolStatistics = /^\/api\/instances\/StoragePool::([^/]+)\/relationships\/Statistics$/.exec(path);
    const route = `${method} ${volumeAction ? `VOLUME-ACTION ${volumeAction[2]}` : volumeGet ? 'VOLUME' : poolStatistics ? 'POOL-STATISTICS' : path}`;
    switch (route) {
      case 'GET /api/version':
        return ok('3.6');
      case 'GET /api/types/System/instances':
        return ok([{ id: this.systemId, name: 'fake-powerflex', systemVersionName: 'DellEMC PowerFlex Version: R3_6.0.0', mdmCluster: { clusterState: 'ClusteredNormal' }, links: [] }]);
      case `GET ${system}`:
        return ok({ id: this.systemId, name: 'fake-powerflex', systemVersionName: 'DellEMC PowerFlex Version: R3_6.0.0', links: [] });
      case 'GET /api/types/StoragePool/instances':
        return ok(this.pools.map((pool) => ({ id: pool.id, name: pool.name, protectionDomainId: pool.protectionDomainId, mediaType: 'HDD', useRmcache: false, links: [] })));
      case 'GET POOL-STATISTICS':
        return ok(this.poolStatistics(poolStatistics![1]!));
      case 'GET /api/types/Volume/instances':
        return ok(this.volumes);
      case 'POST /api/types/Volume/instances':
        return ok({ id: this.createVolume(parseBody(body)) });
      case 'POST /api/types/Volume/instances/action/queryIdByKey': {
        const { name } = parseBody(body);
        const volume = [...this.volumeById.values()].find((candidate) => candidate.name === name);
        if (!volume) throw NOT_FOUND;
        return ok(volume.id);
      }
      case 'GET VOLUME':
        return ok(this.volume(volumeGet![1]!));
      case 'POST VOLUME-ACTION removeVolume':
        this.volume(volumeAction![1]!);
        this.volumeById.delete(volumeAction![1]!);
        return { status: 200 };
      case 'POST VOLUME-ACTION addMappedSdc':
        this.mapVolume(volumeAction![1]!, parseBody(body));
        return { status: 200 };
      case 'POST VOLUME-ACTION removeMappedSdc':
        this.unmapVolume(volumeAction![1]!, parseBody(body));
        return { status: 200 };
      case `POST ${system}/action/approveSdc`:
        return ok({ id: this.approveSdc(parseBody(body)) });
      case `POST ${system}/action/snapshotVolumes`:
        return ok(this.snapshot(parseBody(body)));
      case `GET ${system}/relationships/Sdc`:
        return ok(this.sdcs);
      default:
        return error({ status: 404, errorCode: 0, message: `No such resource: ${method} ${path}` });
    }
  }

  private volume(id: string): FakeVolume {
    const volume = this.volumeById.get(id);
    if (!volume) throw NOT_FOUND;
    return structuredClone(volume);
  }

  private createVolume(body: Record<string, unknown>): string {
    const { name, storagePoolId, volumeSizeInKb, volumeType } = body;
    if (typeof name !== 'string' || name === '') throw invalidParameter('name');
    if (!this.pools.some((pool) => pool.id === storagePoolId)) throw { status: 500, errorCode: 3, message: 'Invalid Storage Pool. Please try again with a valid ID or name.' } satisfies GatewayError;
    const requested = Number(volumeSizeInKb);
    if (!Number.isSafeInteger(requested) || requested <= 0) throw invalidParameter('volumeSizeInKb');
    if ([...this.volumeById.values()].some((volume) => volume.name === name)) {
      throw { status: 500, errorCode: 6, message: 'Volume name already in use. Please use a different name.' } satisfies GatewayError;
    }
    const id = randomBytes(8).toString('hex');
    this.volumeById.set(id, {
      id,
      name,
      sizeInKb: Math.ceil(requested / GRANULARITY_KIB) * GRANULARITY_KIB,
      storagePoolId: storagePoolId as string,
      volumeType: typeof volumeType === 'string' ? volumeType : 'ThinProvisioned',
      ancestorVolumeId: null,
      mappedSdcInfo: [],
    });
    return id;
  }

  private mapVolume(volumeId: string, body: Record<string, unknown>): void {
    const volume = this.volumeById.get(volumeId);
    if (!volume) throw NOT_FOUND;
    const sdc = this.sdcById.get(String(body.sdcId));
    if (!sdc) throw { status: 500, errorCode: 145, message: 'Could not find the SDC' } satisfies GatewayError;
    if (volume.mappedSdcInfo.some((mapping) => mapping.sdcId === sdc.id)) {
      throw { status: 500, errorCode: 81, message: 'The volume is already mapped to this SDC' } satisfies GatewayError;
    }
    volume.mappedSdcInfo.push({ sdcId: sdc.id, sdcIp: sdc.sdcIp, accessMode: typeof body.accessMode === 'string' ? body.accessMode : 'ReadWrite' });
  }

  private unmapVolume(volumeId: string, body: Record<string, unknown>): void {
    const volume = this.volumeById.get(volumeId);
    if (!volume) throw NOT_FOUND;
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
      if (!source) throw NOT_FOUND;
      if (typeof definition.snapshotName !== 'string' || definition.snapshotName === '') throw invalidParameter('snapshotName');
      return { source, name: definition.snapshotName };
    });
    const volumeIdList = sources.map(({ source, name }) => {
      const id = randomBytes(8).toString('hex');
      this.volumeById.set(id, { ...structuredClone(source), id, name, ancestorVolumeId: source.id, volumeType: 'Snapshot', mappedSdcInfo: [] });
      return id;
    });
    return { volumeIdList, snapshotGroupId: randomBytes(8).toString('hex') };
  }

  private poolStatistics(poolId: string): Record<string, number> {
    const pool = this.pools.find((candidate) => candidate.id === poolId);
    if (!pool) throw { status: 500, errorCode: 3, message: 'Could not find the Storage Pool' } satisfies GatewayError;
    const volumes = [...this.volumeById.values()].filter((volume) => volume.storagePoolId === poolId);
    const inUse = volumes.reduce((sum, volume) => sum + volume.sizeInKb, 0);
    return { maxCapacityInKb: pool.maxCapacityInKb, capacityInUseInKb: inUse, capacityAvailableForVolumeAllocationInKb: pool.maxCapacityInKb - inUse, numOfVolumes: volumes.length };
  }
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

function isGatewayError(value: unknown): value is GatewayError {
  return typeof value === 'object' && value !== null && 'errorCode' in value && 'status' in value && 'message' in value;
}

function ok(body: unknown): { status: number; body: unknown } {
  return { status: 200, body };
}

function error(failure: GatewayError): { status: number; body: unknown } {
  return { status: failure.status, body: { message: failure.message, httpStatusCode: failure.status, errorCode: failure.errorCode } };
}
