// The service's own PowerFlex gateway client: a session per system (reference §1.5) and the few
// lookups the pipeline needs (pool names, volumes and file systems, does one exist). It uses the
// array's real credentials, which never leave this process except towards the array itself.
//
// Two gateway generations: 3.x logs in with `GET /api/login` (Basic user:password → a token sent as
// `Basic ":"+token`); 4.x with `POST /rest/auth/login` (JSON credentials → `access_token`,
// `refresh_token`, lifetimes) and the access token sent as `Bearer`, renewed with the refresh token
// before it expires. The generation is discovered at the first login (the 4.x login is tried first:
// a 3.x gateway does not serve it) and remembered per endpoint.
import type { ArrayCredentials, StorageSystem } from '../../resources/types.js';
import { ArrayCheckError, ArrayLoginRefusedError, ArrayLookupError, type VolumeInfo } from '../types.js';
import { LookupCache, type ArrayLookup } from '../cache.js';
import { ArrayHttp, responseJson, type ArrayStreamResponse } from '../http.js';
import { streamedElements, type Scalar } from '../jsonStream.js';
import { SessionPool, type LoggedIn } from '../session.js';
import { gatewayErrorMessage } from './errors.js';
import { fileSystemVolumeId, objectOf, type PowerFlexObject } from './objectIds.js';

export interface PowerFlexClientOptions {
  /** Extra trusted CA certificates (PEM) for gateway TLS; the system trust store (and NODE_EXTRA_CA_CERTS) otherwise. */
  ca?: string;
  /**
   * Log in again once a token is this old. PowerFlex tokens die after 10 idle minutes (8 hours at most);
   * Dell re-logs every 5 minutes, and so do we, so a forwarded request does not carry a dead token.
   * A token the gateway forgets sooner (its restart) is renewed as soon as it refuses one (sessionRefused).
   */
  tokenMaxAgeMs?: number;
  /** How long a pool name or volume lookup is trusted. */
  lookupTtlMs?: number;
  /** Bound on cached lookups (pools and volumes together). */
  lookupCacheSize?: number;
  /** Per gateway call: connect, headers and body. */
  requestTimeoutMs?: number;
  /**
   * After a failed login, requests fail at once for this long instead of logging in again: a wrong
   * password under load must not hammer the gateway (which locks accounts after failed logins).
   * A changed credential file is tried immediately.
   */
  loginRetryMs?: number;
  /**
   * A session the array refused on a forwarded request is dropped only once it is this old. Tenants
   * choose the paths they send: were some path answered 401 whatever the token, each such request
   * would otherwise cost a login (and a session on the gateway).
   */
  minRefusedSessionAgeMs?: number;
  now?: () => number;
}

/** How the gateway takes its session on every request. */
export type SessionScheme = 'basic-token' | 'bearer';

export interface GatewaySession {
  scheme: SessionScheme;
  token: string;
}

interface Session extends GatewaySession {
  /** 4.x: the refresh token and when it dies. */
  refresh?: { token: string; expiresAt: number };
}

/** The part of a 4.x access token's life spent before it is renewed (the rest is margin for requests in flight). */
const ACCESS_RENEW_FRACTION = 0.8;

interface GatewayResponse {
  status: number;
  text: string;
}

/** goscaleio's "no such object" answer: HTTP 500 with errorCode 79 ("Could not find the volume"). */
const NOT_FOUND_ERROR_CODE = 79;

/** The fields of a gateway Volume object the service reads. */
interface RawVolume {
  id?: unknown;
  name?: unknown;
  sizeInKb?: unknown;
  storagePoolId?: unknown;
}

const VOLUME_FIELDS: readonly (keyof RawVolume)[] = ['id', 'name', 'sizeInKb', 'storagePoolId'];

/** The fields of a 4.x file system the service reads (sizes in bytes). */
interface RawFileSystem {
  id?: unknown;
  name?: unknown;
  size_total?: unknown;
  storage_pool_id?: unknown;
}

const FILE_SYSTEM_FIELDS: readonly (keyof RawFileSystem)[] = ['id', 'name', 'size_total', 'storage_pool_id'];

function isNotFound(response: GatewayResponse): boolean {
  return response.status === 404 || responseJson<{ errorCode?: unknown }>(response.text)?.errorCode === NOT_FOUND_ERROR_CODE;
}

export class PowerFlexClient {
  private readonly sessions: SessionPool<Session>;
  /** Endpoint → gateway generation, learnt at the first login. */
  private readonly generations = new Map<string, '3.x' | '4.x'>();
  private readonly http: ArrayHttp;
  private readonly pools: LookupCache<string>;
  private readonly volumes: LookupCache<VolumeInfo>;
  private readonly tokenMaxAgeMs: number;
  private readonly now: () => number;

  constructor(options: PowerFlexClientOptions = {}) {
    this.now = options.now ?? Date.now;
    this.tokenMaxAgeMs = options.tokenMaxAgeMs ?? 5 * 60_000;
    this.http = new ArrayHttp('PowerFlex', { ...(options.ca === undefined ? {} : { ca: options.ca }), requestTimeoutMs: options.requestTimeoutMs ?? 10_000 });
    this.sessions = new SessionPool({
      maxAgeMs: this.tokenMaxAgeMs,
      ...(options.loginRetryMs === undefined ? {} : { loginRetryMs: options.loginRetryMs }),
      ...(options.minRefusedSessionAgeMs === undefined ? {} : { minRefusedSessionAgeMs: options.minRefusedSessionAgeMs }),
      now: this.now,
    });
    const ttl = options.lookupTtlMs ?? 60_000;
    const size = options.lookupCacheSize ?? 1000;
    this.pools = new LookupCache((lookup) => this.listPools(lookup), { maxEntries: size, ttlMs: ttl, serveStaleWhileRefreshing: true, now: this.now });
    this.volumes = new LookupCache((lookup) => this.lookUpVolume(lookup), { maxEntries: size, ttlMs: ttl, now: this.now });
  }

  /** A current gateway session for this system: cached, renewed before it ages out, one login at a time. */
  session(system: StorageSystem, credentials: ArrayCredentials, rejected?: string): Promise<GatewaySession> {
    return this.sessions.current(system, credentials, (current) => this.renew(system, credentials, current), rejected === undefined ? undefined : (session) => session.token === rejected);
  }

  /**
   * The gateway answered 401 to a forwarded request (it restarted, or expired the token early):
   * drops this system's cached session if `refused` recognises its token, so the next request logs
   * in again (one login, as in `token`) instead of carrying a dead token until it ages out. A session
   * obtained since then is kept: a late report must not kill it. Returns whether one was dropped.
   */
  sessionRefused(system: StorageSystem, refused: (session: GatewaySession) => boolean): boolean {
    return this.sessions.refused(system, refused);
  }

  /** Logs in and checks that the gateway serves this system ID (`GET /api/types/System/instances`, as Dell's storage-service). */
  async checkSystem(system: StorageSystem, credentials: ArrayCredentials): Promise<void> {
    let text: string;
    try {
      text = await this.expectOk(system, credentials, 'GET', '/api/types/System/instances');
    } catch (error) {
      if (error instanceof ArrayLoginRefusedError) {
        throw new ArrayCheckError('credentials', `wrong username or password: the PowerFlex gateway at ${system.endpoint} refused the login of user "${credentials.username}" (${error.message})`, { cause: error });
      }
      throw new ArrayCheckError('unreachable', `cannot check the PowerFlex gateway at ${system.endpoint}: ${(error as Error).message}`, { cause: error });
    }
    const systems = responseJson<{ id?: unknown }[]>(text);
    const ids = Array.isArray(systems) ? systems.map((s) => s.id).filter((id): id is string => typeof id === 'string') : [];
    if (!ids.includes(system.systemID)) {
      throw new ArrayCheckError('system-id', `wrong system ID: the PowerFlex gateway at ${system.endpoint} serves ${ids.length ? ids.map((id) => `"${id}"`).join(', ') : 'no system'}, not "${system.systemID}"`);
    }
  }

  /** Pool id → name; the whole pool list is fetched on a miss (one call fills every pool of the system). */
  poolName(system: StorageSystem, credentials: ArrayCredentials, poolId: string): Promise<string> {
    return this.pools.get({ system, credentials, id: poolId });
  }

  private async listPools({ system, credentials, id }: ArrayLookup): Promise<string> {
    const pools = responseJson<{ id?: unknown; name?: unknown }[]>(await this.expectOk(system, credentials, 'GET', '/api/types/StoragePool/instances'));
    let found: string | undefined;
    for (const pool of Array.isArray(pools) ? pools : []) {
      if (typeof pool.id !== 'string' || typeof pool.name !== 'string') continue;
      if (pool.id === id) found = pool.name;
      else this.pools.set(system, pool.id, pool.name);
    }
    if (found === undefined) throw new ArrayLookupError(`unknown storage pool id ${JSON.stringify(id)} on PowerFlex system ${system.systemID}`, 400);
    return found;
  }

  /**
   * Volume id → name, size, pool (name resolved too). A 4.x file system (`file-system:<id>`) is
   * read from the file API; an NFS export (`nfs-export:<id>`) is the file system it exports. A
   * missing object answers with the array's status and message.
   */
  volume(system: StorageSystem, credentials: ArrayCredentials, volumeId: string, lookup = { fresh: false }): Promise<VolumeInfo> {
    const wanted = { system, credentials, id: volumeId };
    return lookup.fresh ? this.volumes.fresh(wanted) : this.volumes.get(wanted);
  }

  private async lookUpVolume({ system, credentials, id }: ArrayLookup): Promise<VolumeInfo> {
    const object = objectOf(id);
    // An export can be re-pointed at another file system only by deleting it: its file system is stable.
    return object.type === 'volume'
      ? this.volumeInfo(system, credentials, id, responseJson<RawVolume>(await this.expectOk(system, credentials, 'GET', `/api/instances/Volume::${encodeURIComponent(object.id)}`)))
      : this.fileSystem(system, credentials, object);
  }

  /**
   * The volume of this name as the gateway has it now (queryIdByKey, then the volume itself; on
   * 4.x, else the file system of this name), or undefined when the gateway says "not found". A hold
   * does not say which it was, and names are the tenant's PV names, so either answers for it.
   * Errors other than "not found" throw.
   */
  async findVolume(system: StorageSystem, credentials: ArrayCredentials, name: string): Promise<VolumeInfo | undefined> {
    const response = await this.call(system, credentials, 'POST', '/api/types/Volume/instances/action/queryIdByKey', JSON.stringify({ name }));
    if (isNotFound(response)) return this.fileSystemNamed(system, credentials, name);
    if (response.status !== 200) throw this.lookupError(system, response);
    const id = responseJson<unknown>(response.text);
    if (typeof id !== 'string' || id === '') throw new ArrayLookupError(`PowerFlex system ${system.systemID} returned no id for volume ${JSON.stringify(name)}`, 502);
    const found = await this.call(system, credentials, 'GET', `/api/instances/Volume::${encodeURIComponent(id)}`);
    // Deleted between the two calls: gone is gone.
    if (isNotFound(found)) return undefined;
    if (found.status !== 200) throw this.lookupError(system, found);
    return this.volumeInfo(system, credentials, id, responseJson<RawVolume>(found.text));
  }

  /**
   * Every volume and snapshot on the system and, on 4.x, every file system: one call each, read as a
   * stream (a system holds up to ~131k volumes, and only the four fields the inventory needs are
   * kept of each); pool names resolved (one more call at most).
   */
  async *inventory(system: StorageSystem, credentials: ArrayCredentials): AsyncGenerator<VolumeInfo> {
    for await (const raw of this.listed(system, credentials, '/api/types/Volume/instances', VOLUME_FIELDS, 'volume')) {
      yield await this.volumeInfo(system, credentials, raw.id, raw);
    }
    if (!(await this.hasFileApi(system, credentials))) return;
    for await (const raw of this.listed(system, credentials, '/rest/v1/file-systems?select=*', FILE_SYSTEM_FIELDS, 'file system')) {
      yield await this.fileSystemInfo(system, credentials, raw.id, raw);
    }
  }

  /**
   * The 4.x file system of this name, or undefined (none on 3.x). The file API has no lookup by name
   * (goscaleio lists them too): the listing is read as it arrives and left at the first match.
   */
  private async fileSystemNamed(system: StorageSystem, credentials: ArrayCredentials, name: string): Promise<VolumeInfo | undefined> {
    if (!(await this.hasFileApi(system, credentials))) return undefined;
    for await (const raw of this.listed(system, credentials, '/rest/v1/file-systems?select=*', FILE_SYSTEM_FIELDS, 'file system')) {
      if (raw.name === name) return this.fileSystemInfo(system, credentials, raw.id, raw);
    }
    return undefined;
  }

  /** 4.x gateways (OAuth sessions) have the file API; 3.x has none. */
  private async hasFileApi(system: StorageSystem, credentials: ArrayCredentials): Promise<boolean> {
    return (await this.session(system, credentials)).scheme === 'bearer';
  }

  /** The objects of one listing with `fields` kept of each, read as they arrive; each has an id. */
  private async *listed(system: StorageSystem, credentials: ArrayCredentials, path: string, fields: readonly string[], what: string): AsyncGenerator<Record<string, Scalar> & { id: string }> {
    const listing = await this.listing(system, credentials, path);
    try {
      for await (const raw of streamedElements(listing, fields)) {
        if (typeof raw.id !== 'string') throw new ArrayLookupError(`PowerFlex system ${system.systemID} listed a ${what} without an id`, 502);
        yield raw as Record<string, Scalar> & { id: string };
      }
    } catch (error) {
      if (error instanceof ArrayLookupError) throw error;
      throw new ArrayLookupError(`PowerFlex system ${system.systemID} returned an unreadable ${what} list: ${(error as Error).message}`, 502, { cause: error });
    } finally {
      // Stopped early (a consumer's return, an unreadable element): dump() reads at most 128 KiB
      // more, then closes the body with its error swallowed.
      await listing.dump();
    }
  }

  /** A GET answered 200 whose body is left to the caller to stream; a 401 logs in again once, as `call`. */
  private async listing(system: StorageSystem, credentials: ArrayCredentials, path: string): Promise<ArrayStreamResponse['body']> {
    const session = await this.session(system, credentials);
    let response = await this.http.stream(system, path, { authorization: authorizationOf(session) });
    if (response.status === 401) {
      // Read the (short) refusal to its end, not destroy(): a destroyed undici body raises an
      // AbortError nobody listens for (an uncaught exception) and resets the pooled connection
      // the retry would use.
      await response.body.dump();
      response = await this.http.stream(system, path, { authorization: authorizationOf(await this.session(system, credentials, session.token)) });
    }
    if (response.status !== 200) throw this.lookupError(system, { status: response.status, text: await response.body.text() });
    return response.body;
  }

  /** A 4.x file system (sizes in bytes, charged in KiB rounded up), directly or through the NFS export that names it. */
  private async fileSystem(system: StorageSystem, credentials: ArrayCredentials, object: Exclude<PowerFlexObject, { type: 'volume' }>): Promise<VolumeInfo> {
    let fileSystemId = object.id;
    if (object.type === 'nfs-export') {
      const nfs = responseJson<{ file_system_id?: unknown }>(await this.expectOk(system, credentials, 'GET', `/rest/v1/nfs-exports/${encodeURIComponent(object.id)}?select=*`));
      if (typeof nfs?.file_system_id !== 'string') throw new ArrayLookupError(`PowerFlex system ${system.systemID} returned an unreadable NFS export ${object.id}`, 502);
      fileSystemId = nfs.file_system_id;
    }
    const raw = responseJson<RawFileSystem>(await this.expectOk(system, credentials, 'GET', `/rest/v1/file-systems/${encodeURIComponent(fileSystemId)}?select=*`));
    return this.fileSystemInfo(system, credentials, fileSystemId, raw);
  }

  private async fileSystemInfo(system: StorageSystem, credentials: ArrayCredentials, id: string, raw: RawFileSystem | undefined): Promise<VolumeInfo> {
    if (typeof raw?.name !== 'string' || typeof raw.storage_pool_id !== 'string' || typeof raw.size_total !== 'number') {
      throw new ArrayLookupError(`PowerFlex system ${system.systemID} returned an unreadable file system ${id}`, 502);
    }
    const poolId = raw.storage_pool_id;
    return { id: fileSystemVolumeId(id), name: raw.name, sizeKiB: Math.ceil(raw.size_total / 1024), poolId, poolName: await this.poolName(system, credentials, poolId) };
  }

  close(): Promise<void> {
    return this.http.close();
  }

  /**
   * A 4.x session whose refresh token still lives is refreshed; otherwise this logs in, the 4.x way
   * first unless the endpoint is known to be 3.x. A refused refresh falls back to a login.
   */
  private async renew(system: StorageSystem, credentials: ArrayCredentials, current: Session | undefined): Promise<LoggedIn<Session>> {
    if (current?.refresh && this.now() < current.refresh.expiresAt) {
      const refreshed = await this.send(system, 'POST', '/rest/auth/refresh', undefined, JSON.stringify({ refresh_token: current.refresh.token }));
      if (refreshed.status === 200) return this.oauthSession(system, refreshed);
    }
    const generation = this.generations.get(system.endpoint);
    if (generation !== '3.x') {
      const body = JSON.stringify({ username: credentials.username, password: credentials.password });
      const response = await this.send(system, 'POST', '/rest/auth/login', undefined, body);
      if (response.status === 200) {
        this.generations.set(system.endpoint, '4.x');
        return this.oauthSession(system, response);
      }
      if (generation === '4.x') throw loginFailed(system, response);
    }
    const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
    const response = await this.send(system, 'GET', '/api/login', `Basic ${basic}`);
    if (response.status !== 200) throw loginFailed(system, response);
    const token = responseJson<unknown>(response.text);
    if (typeof token !== 'string' || token === '') throw new ArrayLookupError(`login to PowerFlex system ${system.systemID} returned no token`, 502);
    this.generations.set(system.endpoint, '3.x');
    return { value: { scheme: 'basic-token', token } };
  }

  /** `{"access_token","expires_in","refresh_token","refresh_expires_in"}` → a Bearer session renewed before the access token dies. */
  private oauthSession(system: StorageSystem, response: GatewayResponse): LoggedIn<Session> {
    const body = responseJson<{ access_token?: unknown; expires_in?: unknown; refresh_token?: unknown; refresh_expires_in?: unknown }>(response.text);
    if (typeof body?.access_token !== 'string' || body.access_token === '') throw new ArrayLookupError(`login to PowerFlex system ${system.systemID} returned no access token`, 502);
    const now = this.now();
    const accessMs = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : this.tokenMaxAgeMs;
    const session: Session = { scheme: 'bearer', token: body.access_token };
    if (typeof body.refresh_token === 'string' && typeof body.refresh_expires_in === 'number') {
      session.refresh = { token: body.refresh_token, expiresAt: now + body.refresh_expires_in * 1000 * ACCESS_RENEW_FRACTION };
    }
    return { value: session, renewAfterMs: accessMs * ACCESS_RENEW_FRACTION };
  }

  /** A call with the current session; a 401 (token expired early, gateway restarted) logs in again once. */
  private async call(system: StorageSystem, credentials: ArrayCredentials, method: string, path: string, body?: string): Promise<GatewayResponse> {
    const session = await this.session(system, credentials);
    const response = await this.send(system, method, path, authorizationOf(session), body);
    if (response.status !== 401) return response;
    return this.send(system, method, path, authorizationOf(await this.session(system, credentials, session.token)), body);
  }

  private async expectOk(system: StorageSystem, credentials: ArrayCredentials, method: string, path: string): Promise<string> {
    const response = await this.call(system, credentials, method, path);
    if (response.status !== 200) throw this.lookupError(system, response);
    return response.text;
  }

  private async volumeInfo(system: StorageSystem, credentials: ArrayCredentials, volumeId: string, raw: RawVolume | undefined): Promise<VolumeInfo> {
    if (typeof raw?.name !== 'string' || typeof raw.storagePoolId !== 'string' || typeof raw.sizeInKb !== 'number') {
      throw new ArrayLookupError(`PowerFlex system ${system.systemID} returned an unreadable volume ${volumeId}`, 502);
    }
    return {
      id: volumeId,
      name: raw.name,
      sizeKiB: raw.sizeInKb,
      poolId: raw.storagePoolId,
      poolName: await this.poolName(system, credentials, raw.storagePoolId),
    };
  }

  private lookupError(system: StorageSystem, response: GatewayResponse): ArrayLookupError {
    if (response.status === 401 || response.status === 403) {
      return new ArrayLookupError(`PowerFlex system ${system.systemID} rejected the configured credentials`, 502);
    }
    return new ArrayLookupError(gatewayErrorMessage(response.status, response.text), response.status);
  }

  private send(system: StorageSystem, method: string, path: string, authorization: string | undefined, body?: string): Promise<GatewayResponse> {
    return this.http.send(system, method, path, authorization === undefined ? {} : { authorization }, body);
  }
}

/** The Authorization a gateway takes its session in: 3.x Basic with an empty user name and the token as the password, 4.x Bearer. */
export function authorizationOf(session: GatewaySession): string {
  return session.scheme === 'bearer' ? `Bearer ${session.token}` : `Basic ${Buffer.from(`:${session.token}`).toString('base64')}`;
}

function loginFailed(system: StorageSystem, response: GatewayResponse): ArrayLookupError {
  const message = `login to PowerFlex system ${system.systemID} failed: HTTP ${response.status} ${gatewayErrorMessage(response.status, response.text)}`;
  return response.status === 401 || response.status === 403 ? new ArrayLoginRefusedError(message, 502) : new ArrayLookupError(message, 502);
}
