// A fake PowerScale (OneFS) API over HTTPS: the session service, the namespace API (RAN) and the
// platform API (PAPI) calls the CSI PowerScale driver makes through Dell's gopowerscale, with the
// field names and statuses of the OneFS API Reference. The requests gopowerscale v1.21.0 sends are
// recorded in /work/shared/reference/array-clients/powerscale.md ("ps#<n>" below = its sequence row).
//
// Sessions (OneFS API Reference, "Session service"; ps#1): `POST /session/1/session` with
// `{username, password, services}` answers 201 with the `isisessid` and `isicsrf` cookies. Every other
// call needs the `isisessid` cookie (else 401); a mutation also needs `X-CSRF-Token` = the session's
// `isicsrf` and a `Referer` (else 401, as OneFS refuses a CSRF failure). A session dies after
// `inactivityTimeoutMs` unused (OneFS default: 15 minutes). Errors are `{"errors":[{"code","message"}]}`.
// It records every request it saw, so a test can prove a denied request never reached it.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { FakeArrayServer, type SeenRequest } from '../https.js';

export type { SeenRequest };

export const GIB = 1024 * 1024 * 1024;

/** A SmartQuota (PAPI `/platform/1/quota/quotas`): thresholds in bytes. */
export interface FakeQuota {
  id: string;
  path: string;
  type: 'directory';
  container: boolean;
  enforced: boolean;
  include_snapshots: boolean;
  thresholds_include_overhead: boolean;
  thresholds: { hard: number | null; soft: number | null; advisory: number | null };
  usage: { logical: number; physical: number; inodes: number };
}

/** An NFS export (PAPI `/platform/2/protocols/nfs/exports`); ids are integers. */
export interface FakeExport {
  id: number;
  paths: string[];
  description: string;
  zone: string;
  clients: string[];
  root_clients: string[];
  read_write_clients: string[];
  read_only_clients: string[];
}

/** A snapshot (PAPI `/platform/1/snapshot/snapshots`); ids are integers. */
export interface FakeSnapshot {
  id: number;
  name: string;
  path: string;
  state: 'active';
  created: number;
}

export interface FakeOneFsOptions {
  clusterName?: string;
  username?: string;
  password?: string;
  inactivityTimeoutMs?: number;
}

interface Session {
  csrf: string;
  lastUsedAt: number;
}

interface ApiError {
  status: number;
  code: string;
  message: string;
}

const errors = {
  unauthorized: (): ApiError => ({ status: 401, code: 'AEC_UNAUTHORIZED', message: 'Authorization required' }),
  csrf: (): ApiError => ({ status: 401, code: 'AEC_UNAUTHORIZED', message: 'CSRF token or Referer missing or invalid' }),
  notFound: (what: string): ApiError => ({ status: 404, code: 'AEC_NOT_FOUND', message: `${what} not found` }),
  exists: (what: string): ApiError => ({ status: 409, code: 'AEC_EXISTS', message: `${what} already exists` }),
  badRequest: (message: string): ApiError => ({ status: 400, code: 'AEC_BAD_REQUEST', message }),
};

type Json = Record<string, unknown>;

export class FakeOneFs extends FakeArrayServer {
  readonly clusterName: string;
  private readonly sessions = new Map<string, Session>();
  /** Directory paths under /ifs (with their x-isi-ifs-… and x-csi-… metadata). */
  private readonly directories = new Map<string, Record<string, string>>([['/ifs', {}], ['/ifs/data', {}]]);
  private readonly quotas = new Map<string, FakeQuota>();
  private readonly exports = new Map<number, FakeExport>();
  private readonly snapshots = new Map<number, FakeSnapshot>();
  private readonly credentials: { username: string; password: string };
  private readonly inactivityTimeoutMs: number;
  private nextId = 1;
  private loginCount = 0;

  private constructor(options: FakeOneFsOptions) {
    super();
    this.clusterName = options.clusterName ?? 'PIE-Isilon-X';
    this.credentials = { username: options.username ?? 'admin', password: options.password ?? 'Password123!' };
    this.inactivityTimeoutMs = options.inactivityTimeoutMs ?? 900_000;
  }

  static async start(options: FakeOneFsOptions = {}): Promise<FakeOneFs> {
    return new FakeOneFs(options).listen('fake-onefs');
  }


  get logins(): number {
    return this.loginCount;
  }

  /** Ends every session, as a cluster restart does. */
  dropSessions(): void {
    this.sessions.clear();
  }

  /** A directory made by an admin (e.g. a role's isiPath). */
  addDirectory(path: string): void {
    this.directories.set(path, {});
  }

  hasDirectory(path: string): boolean {
    return this.directories.has(path);
  }

  /** What the directory's quota reports it holds (`usage.logical`, bytes), as writes by its pods would make it. */
  setUsage(path: string, bytes: number): void {
    const quota = this.allQuotas.find((candidate) => candidate.path === path);
    if (!quota) throw new Error(`no quota on ${path}`);
    quota.usage.logical = bytes;
  }

  get allQuotas(): FakeQuota[] {
    return [...this.quotas.values()];
  }

  get allExports(): FakeExport[] {
    return [...this.exports.values()];
  }

  get allSnapshots(): FakeSnapshot[] {
    return [...this.snapshots.values()];
  }

  protected respond(seen: SeenRequest, res: ServerResponse): void {
    const answer = this.route(seen);
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  }

  private route(seen: SeenRequest): { status: number; headers?: Record<string, string | string[]>; body?: unknown } {
    const url = new URL(seen.path, 'https://onefs');
    // gopowerscale adds a trailing '/' to platform paths (ps#2), OneFS accepts either.
    const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/$/, '') : url.pathname;
    if (pathname === '/session/1/session' && seen.method === 'POST') return this.login(seen);
    const session = this.authenticated(seen);
    if ('status' in session) return failure(session);
    let body: Json | undefined;
    if (seen.body !== '') {
      try {
        body = JSON.parse(seen.body) as Json;
      } catch {
        return failure(errors.badRequest('request body is not valid JSON'));
      }
    }
    try {
      return this.dispatch(seen.method, pathname, url.searchParams, seen.headers, body ?? {});
    } catch (error) {
      if (isApiError(error)) return failure(error);
      throw error;
    }
  }

  /** ps#1: 201 and both cookies; OneFS refuses wrong credentials with 401. */
  private login(seen: SeenRequest): { status: number; headers?: Record<string, string | string[]>; body?: unknown } {
    let body: Json;
    try {
      body = JSON.parse(seen.body) as Json;
    } catch {
      return failure(errors.badRequest('request body is not valid JSON'));
    }
    if (body.username !== this.credentials.username || body.password !== this.credentials.password) return failure(errors.unauthorized());
    const sid = randomBytes(16).toString('hex');
    const csrf = randomBytes(16).toString('hex');
    this.sessions.set(sid, { csrf, lastUsedAt: Date.now() });
    this.loginCount += 1;
    const timeout = Math.round(this.inactivityTimeoutMs / 1000);
    return {
      status: 201,
      headers: { 'set-cookie': [`isisessid=${sid}; path=/; HttpOnly; Secure`, `isicsrf=${csrf}; path=/; Secure`] },
      body: { services: body.services ?? ['platform', 'namespace'], timeout_absolute: 14400, timeout_inactive: timeout, username: body.username },
    };
  }

  private authenticated(seen: SeenRequest): Session | ApiError {
    const cookies = String(seen.headers.cookie ?? '').split(';').map((pair) => pair.trim().split('='));
    const sid = cookies.find(([name]) => name === 'isisessid')?.[1];
    const session = sid === undefined ? undefined : this.sessions.get(sid);
    const now = Date.now();
    if (!session || now - session.lastUsedAt > this.inactivityTimeoutMs) {
      if (sid !== undefined) this.sessions.delete(sid);
      return errors.unauthorized();
    }
    if (seen.method !== 'GET' && seen.method !== 'HEAD' && (seen.headers['x-csrf-token'] !== session.csrf || !seen.headers.referer)) return errors.csrf();
    session.lastUsedAt = now;
    return session;
  }

  private dispatch(method: string, pathname: string, query: URLSearchParams, headers: SeenRequest['headers'], body: Json): { status: number; body?: unknown } {
    if (pathname.startsWith('/namespace/')) return this.namespace(method, pathname.slice('/namespace'.length), query, headers);
    const [, api, version, ...rest] = pathname.split('/');
    const route = `${method} /${api}/${version}/${rest.map((segment, index) => (index === rest.length - 1 && /^\d+$|^[0-9a-zA-Z]{10,}$/.test(segment) ? ':id' : segment)).join('/')}`;
    const id = rest[rest.length - 1] ?? '';
    switch (route) {
      case 'GET /platform/latest/':
        return { status: 200, body: { latest: '16' } }; // ps#2
      case 'GET /platform/3/cluster/config':
        return { status: 200, body: { name: this.clusterName, guid: '000e1e8a6f4c8a4b', onefs_version: { release: '9.5.0.0' } } }; // ps#3
      case 'GET /platform/5/quota/license':
        return { status: 200, body: { status: 'Licensed' } }; // ps#7
      case 'POST /platform/1/quota/quotas':
        return this.createQuota(body); // ps#8
      case 'GET /platform/1/quota/quotas': {
        const path = query.get('path');
        return { status: 200, body: { quotas: this.allQuotas.filter((quota) => path === null || quota.path === path), resume: null, total: this.quotas.size } };
      }
      case 'GET /platform/1/quota/quotas/:id':
        return { status: 200, body: { quotas: [this.quota(id)] } }; // ps#11
      case 'PUT /platform/1/quota/quotas/:id':
        return this.updateQuota(this.quota(id), body); // ps#12
      case 'DELETE /platform/1/quota/quotas/:id':
        this.quota(id);
        this.quotas.delete(id);
        return { status: 204 }; // ps#16
      case 'GET /platform/2/protocols/nfs/exports': {
        const path = query.get('path');
        return { status: 200, body: { exports: this.allExports.filter((e) => path === null || e.paths.includes(path)), resume: null, total: this.exports.size } }; // ps#5
      }
      case 'POST /platform/2/protocols/nfs/exports':
        return this.createExport(body, query.get('zone') ?? 'System'); // ps#9
      case 'GET /platform/2/protocols/nfs/exports/:id':
        return { status: 200, body: { exports: [this.nfsExport(id)] } }; // ps#10
      case 'PUT /platform/2/protocols/nfs/exports/:id': {
        const found = this.nfsExport(id);
        for (const field of ['clients', 'root_clients', 'read_write_clients', 'read_only_clients'] as const) {
          if (Array.isArray(body[field])) found[field] = (body[field] as unknown[]).map(String);
        }
        return { status: 204 };
      }
      case 'DELETE /platform/2/protocols/nfs/exports/:id':
        this.nfsExport(id);
        this.exports.delete(Number(id));
        return { status: 204 }; // ps#17
      case 'POST /platform/1/snapshot/snapshots':
        return this.createSnapshot(body); // ps#13
      case 'GET /platform/1/snapshot/snapshots/:id':
        return { status: 200, body: { snapshots: [this.snapshot(id)] } }; // ps#14
      case 'DELETE /platform/1/snapshot/snapshots/:id':
        this.snapshot(id);
        this.snapshots.delete(Number(id));
        return { status: 204 }; // ps#14
      default:
        return failure(errors.notFound(`resource ${method} ${pathname}`));
    }
  }

  /**
   * RAN: `GET <p>?metadata` (ps#4), `GET <dir>[?detail=type]` (listing: `{children:[{name, type}]}`;
   * OneFS adds `type` with `detail=type`, this fake always does), `PUT <p>` container (ps#6),
   * `DELETE <p>?recursive=true` (ps#18).
   */
  private namespace(method: string, path: string, query: URLSearchParams, headers: SeenRequest['headers']): { status: number; body?: unknown } {
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    switch (method) {
      case 'GET': {
        const metadata = this.directories.get(path);
        if (!metadata) return failure(errors.notFound(`path ${path}`));
        if (query.has('metadata')) return { status: 200, body: { attrs: Object.entries(metadata).map(([name, value]) => ({ name, value, namespace: null })) } };
        const children = [...this.directories.keys()].filter((candidate) => candidate.slice(0, candidate.lastIndexOf('/')) === path);
        return { status: 200, body: { children: children.map((child) => ({ name: child.slice(path.length + 1), type: 'container' })) } };
      }
      case 'PUT': {
        if (headers['x-isi-ifs-target-type'] !== 'container') return failure(errors.badRequest('only directories (x-isi-ifs-target-type: container) are supported by this fake'));
        if (!this.directories.has(parent)) return failure(errors.notFound(`parent ${parent}`));
        const metadata: Record<string, string> = {};
        for (const [name, value] of Object.entries(headers)) if (name.startsWith('x-csi-') && typeof value === 'string') metadata[name] = value;
        this.directories.set(path, metadata);
        return { status: 200 };
      }
      case 'DELETE': {
        if (!this.directories.has(path)) return failure(errors.notFound(`path ${path}`));
        const inside = [...this.directories.keys()].filter((candidate) => candidate.startsWith(`${path}/`));
        if (inside.length > 0 && query.get('recursive') !== 'true') return failure({ status: 409, code: 'AEC_CONFLICT', message: 'directory not empty' });
        for (const candidate of [path, ...inside]) this.directories.delete(candidate);
        return { status: 204 };
      }
      default:
        return failure(errors.badRequest(`method ${method} not supported on namespace`));
    }
  }

  private createQuota(body: Json): { status: number; body?: unknown } {
    const path = body.path;
    if (typeof path !== 'string' || !this.directories.has(path)) return failure(errors.notFound(`path ${String(path)}`));
    if (this.allQuotas.some((quota) => quota.path === path)) return failure(errors.exists(`quota on ${path}`));
    const thresholds = (body.thresholds ?? {}) as Json;
    const id = `${randomBytes(11).toString('base64url').replace(/[^0-9a-zA-Z]/g, 'A')}`;
    this.quotas.set(id, {
      id, path, type: 'directory', container: body.container === true, enforced: body.enforced === true, include_snapshots: body.include_snapshots === true,
      thresholds_include_overhead: body.thresholds_include_overhead === true,
      thresholds: { hard: bytesOrNull(thresholds.hard), soft: bytesOrNull(thresholds.soft), advisory: bytesOrNull(thresholds.advisory) },
      usage: { logical: 0, physical: 0, inodes: 1 },
    });
    return { status: 201, body: { id } };
  }

  private updateQuota(quota: FakeQuota, body: Json): { status: number } {
    const thresholds = (body.thresholds ?? {}) as Json;
    if ('hard' in thresholds) quota.thresholds.hard = bytesOrNull(thresholds.hard);
    if (typeof body.enforced === 'boolean') quota.enforced = body.enforced;
    return { status: 204 };
  }

  private createExport(body: Json, zone: string): { status: number; body?: unknown } {
    const paths = body.paths;
    if (!Array.isArray(paths) || paths.length === 0) return failure(errors.badRequest('paths is required'));
    for (const path of paths) if (typeof path !== 'string' || !this.directories.has(path)) return failure(errors.notFound(`path ${String(path)}`));
    const id = this.nextId++;
    this.exports.set(id, { id, paths: paths as string[], description: typeof body.description === 'string' ? body.description : '', zone, clients: [], root_clients: [], read_write_clients: [], read_only_clients: [] });
    return { status: 201, body: { id } };
  }

  private createSnapshot(body: Json): { status: number; body?: unknown } {
    if (typeof body.name !== 'string' || typeof body.path !== 'string') return failure(errors.badRequest('name and path are required'));
    if (!this.directories.has(body.path)) return failure(errors.notFound(`path ${body.path}`));
    if (this.allSnapshots.some((snapshot) => snapshot.name === body.name)) return failure(errors.exists(`snapshot ${body.name}`));
    const snapshot: FakeSnapshot = { id: this.nextId++, name: body.name, path: body.path, state: 'active', created: Math.floor(Date.now() / 1000) };
    this.snapshots.set(snapshot.id, snapshot);
    return { status: 201, body: snapshot };
  }

  private quota(id: string): FakeQuota {
    const found = this.quotas.get(id);
    if (!found) throw errors.notFound(`quota ${id}`);
    return found;
  }

  private nfsExport(id: string): FakeExport {
    const found = this.exports.get(Number(id));
    if (!found) throw errors.notFound(`export ${id}`);
    return found;
  }

  private snapshot(id: string): FakeSnapshot {
    const found = this.snapshots.get(Number(id));
    if (!found) throw errors.notFound(`snapshot ${id}`);
    return found;
  }
}

const bytesOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null);

const isApiError = (value: unknown): value is ApiError => typeof value === 'object' && value !== null && 'code' in value && 'status' in value;

function failure(error: ApiError): { status: number; body: unknown } {
  return { status: error.status, body: { errors: [{ code: error.code, message: error.message }] } };
}
