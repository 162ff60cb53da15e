// The service's own PowerFlex gateway client: login token per system (reference §1.5) and the few
// lookups the pipeline needs (pool names, volumes, does a volume exist). It uses the array's real
// credentials, which never leave this process except towards the array itself.
import { Agent, request, type Dispatcher } from 'undici';
import type { ArrayCredentials, StorageSystem } from '../../resources/types.js';
import { storageKey } from '../../resources/types.js';
import { ArrayLookupError, type VolumeInfo } from '../types.js';
import { ExpiringCache } from '../cache.js';
import { SessionPool } from '../session.js';
import { gatewayErrorMessage } from './errors.js';

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

function isNotFound(response: GatewayResponse): boolean {
  return response.status === 404 || parseJson<{ errorCode?: unknown }>(response.text)?.errorCode === NOT_FOUND_ERROR_CODE;
}

export class PowerFlexClient {
  private readonly sessions: SessionPool<string>;
  private readonly agents = new Map<string, Dispatcher>();
  private readonly pools: ExpiringCache<string>;
  private readonly volumes: ExpiringCache<VolumeInfo>;
  private readonly requestTimeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly options: PowerFlexClientOptions = {}) {
    this.now = options.now ?? Date.now;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.sessions = new SessionPool({
      maxAgeMs: options.tokenMaxAgeMs ?? 5 * 60_000,
      ...(options.loginRetryMs === undefined ? {} : { loginRetryMs: options.loginRetryMs }),
      ...(options.minRefusedSessionAgeMs === undefined ? {} : { minRefusedSessionAgeMs: options.minRefusedSessionAgeMs }),
      now: this.now,
    });
    const ttl = options.lookupTtlMs ?? 60_000;
    const size = options.lookupCacheSize ?? 1000;
    this.pools = new ExpiringCache(size, ttl, this.now);
    this.volumes = new ExpiringCache(size, ttl, this.now);
  }

  /** A current gateway token for this system: cached, renewed before it ages out, one login at a time. */
  token(system: StorageSystem, credentials: ArrayCredentials, rejected?: string): Promise<string> {
    return this.sessions.current(system, credentials, async () => ({ value: await this.login(system, credentials) }), rejected);
  }

  /**
   * The gateway answered 401 to a forwarded request (it restarted, or expired the token early):
   * drops this system's cached session if `refused` recognises its token, so the next request logs
   * in again (one login, as in `token`) instead of carrying a dead token until it ages out. A session
   * obtained since then is kept: a late report must not kill it. Returns whether one was dropped.
   */
  sessionRefused(system: StorageSystem, refused: (token: string) => boolean): boolean {
    return this.sessions.refused(system, refused);
  }

  /** Pool id → name; the whole pool list is fetched on a miss (one call fills every pool of the system). */
  async poolName(system: StorageSystem, credentials: ArrayCredentials, poolId: string): Promise<string> {
    const key = `${storageKey(system.type, system.systemID)}|${poolId}`;
    const cached = this.pools.get(key);
    if (cached !== undefined) return cached;
    const pools = parseJson<{ id?: unknown; name?: unknown }[]>(await this.expectOk(system, credentials, 'GET', '/api/types/StoragePool/instances'));
    let found: string | undefined;
    for (const pool of Array.isArray(pools) ? pools : []) {
      if (typeof pool.id !== 'string' || typeof pool.name !== 'string') continue;
      this.pools.set(`${storageKey(system.type, system.systemID)}|${pool.id}`, pool.name);
      if (pool.id === poolId) found = pool.name;
    }
    if (found === undefined) throw new ArrayLookupError(`unknown storage pool id ${JSON.stringify(poolId)} on PowerFlex system ${system.systemID}`, 400);
    return found;
  }

  /** Volume id → name, size, pool (name resolved too). A missing volume answers with the array's status and message. */
  async volume(system: StorageSystem, credentials: ArrayCredentials, volumeId: string): Promise<VolumeInfo> {
    const key = `${storageKey(system.type, system.systemID)}|${volumeId}`;
    const cached = this.volumes.get(key);
    if (cached) return cached;
    const raw = parseJson<RawVolume>(await this.expectOk(system, credentials, 'GET', `/api/instances/Volume::${encodeURIComponent(volumeId)}`));
    const info = await this.volumeInfo(system, credentials, volumeId, raw);
    this.volumes.set(key, info);
    return info;
  }

  /**
   * The volume of this name as the gateway has it now (queryIdByKey, then the volume itself), or
   * undefined when the gateway says "not found". Errors other than "not found" throw.
   */
  async findVolume(system: StorageSystem, credentials: ArrayCredentials, name: string): Promise<VolumeInfo | undefined> {
    const response = await this.call(system, credentials, 'POST', '/api/types/Volume/instances/action/queryIdByKey', JSON.stringify({ name }));
    if (isNotFound(response)) return undefined;
    if (response.status !== 200) throw this.lookupError(system, response);
    const id = parseJson<unknown>(response.text);
    if (typeof id !== 'string' || id === '') throw new ArrayLookupError(`PowerFlex system ${system.systemID} returned no id for volume ${JSON.stringify(name)}`, 502);
    const found = await this.call(system, credentials, 'GET', `/api/instances/Volume::${encodeURIComponent(id)}`);
    // Deleted between the two calls: gone is gone.
    if (isNotFound(found)) return undefined;
    if (found.status !== 200) throw this.lookupError(system, found);
    return this.volumeInfo(system, credentials, id, parseJson<RawVolume>(found.text));
  }

  /** Every volume and snapshot on the system (one call), pool names resolved (one more call at most). */
  async inventory(system: StorageSystem, credentials: ArrayCredentials): Promise<VolumeInfo[]> {
    const listed = parseJson<unknown>(await this.expectOk(system, credentials, 'GET', '/api/types/Volume/instances'));
    if (!Array.isArray(listed)) throw new ArrayLookupError(`PowerFlex system ${system.systemID} returned an unreadable volume list`, 502);
    const volumes: VolumeInfo[] = [];
    for (const raw of listed as RawVolume[]) {
      if (typeof raw?.id !== 'string') throw new ArrayLookupError(`PowerFlex system ${system.systemID} listed a volume without an id`, 502);
      volumes.push(await this.volumeInfo(system, credentials, raw.id, raw));
    }
    return volumes;
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }

  private async login(system: StorageSystem, credentials: ArrayCredentials): Promise<string> {
    const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
    const response = await this.send(system, 'GET', '/api/login', basic);
    if (response.status !== 200) {
      throw new ArrayLookupError(`login to PowerFlex system ${system.systemID} failed: HTTP ${response.status} ${gatewayErrorMessage(response.status, response.text)}`, 502);
    }
    const token = parseJson<unknown>(response.text);
    if (typeof token !== 'string' || token === '') throw new ArrayLookupError(`login to PowerFlex system ${system.systemID} returned no token`, 502);
    return token;
  }

  /** A call with the current token; a 401 (token expired early, gateway restarted) logs in again once. */
  private async call(system: StorageSystem, credentials: ArrayCredentials, method: string, path: string, body?: string): Promise<GatewayResponse> {
    const token = await this.token(system, credentials);
    const response = await this.send(system, method, path, basicToken(token), body);
    if (response.status !== 401) return response;
    return this.send(system, method, path, basicToken(await this.token(system, credentials, token)), body);
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

  private async send(system: StorageSystem, method: string, path: string, basic: string, body?: string): Promise<GatewayResponse> {
    const url = new URL(path, system.endpoint);
    try {
      const response = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers: {
          authorization: `Basic ${basic}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body,
        dispatcher: this.agentFor(system),
      });
      return { status: response.statusCode, text: await response.body.text() };
    } catch (error) {
      throw new ArrayLookupError(`PowerFlex system ${system.systemID} at ${system.endpoint} is unreachable: ${(error as Error).message}`, 502, { cause: error });
    }
  }

  /** One connection pool per endpoint and TLS mode: certificates are verified unless the Storage says skip. */
  private agentFor(system: StorageSystem): Dispatcher {
    const key = `${system.endpoint}|${system.skipCertificateValidation}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({
        connect: {
          rejectUnauthorized: !system.skipCertificateValidation,
          ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
          timeout: this.requestTimeoutMs,
        },
        headersTimeout: this.requestTimeoutMs,
        bodyTimeout: this.requestTimeoutMs,
      });
      this.agents.set(key, agent);
    }
    return agent;
  }
}

/** PowerFlex's token auth: Basic with an empty user name and the token as the password. */
export function basicToken(token: string): string {
  return Buffer.from(`:${token}`).toString('base64');
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
