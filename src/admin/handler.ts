// The admin HTTP API (DESIGN.md §4, reference §1.3), mounted by the service on its admin listener
// behind the edge Envoy. A small explicit route table on node:http; every error is JSON
// `{"error", "code"}`. Tenants, roles and storage are declarative objects that authzctl writes; the
// API also writes them in Dell v1's REST shape for karavictl (management.ts, same store and checks).
import type http from 'node:http';
import { normalisePath } from '../arrays/path.js';
import { LedgerUnavailableError, type Ledger } from '../ledger/types.js';
import { driftTallies, findingsSummary } from '../reconcile/findings.js';
import { driftRows } from '../reconcile/reconcile.js';
import type { ReconcileStore } from '../reconcile/types.js';
import type { ResourceSource } from '../resources/types.js';
import type { DecisionQuery, RecentDecisions } from '../telemetry/audit.js';
import type { Logger } from '../telemetry/log.js';
import { decideMount, MountCallerError, type MountDeps, type MountRequest } from '../csi/mountDecision.js';
import { publicJwks } from '../tokens/keys.js';
import { mintAccessFromRefresh, mintTokenPair } from '../tokens/mint.js';
import { DEFAULT_EARLY_REFRESH_WINDOW_SECONDS, DEFAULT_REFRESHED_ACCESS_TTL_SECONDS, refreshTenantToken } from '../tokens/refresh.js';
import type { SigningKeySet, TokenClaims, TokenKind } from '../tokens/types.js';
import { TokenError, type TokenVerifier } from '../tokens/verify.js';
import { ADMIN_SUBJECT, authenticateAdmin, authenticateCaller, type Caller } from './auth.js';
import { parseGoDuration } from './duration.js';
import { explain } from './explain.js';
import { replicaStatus, type StatusSources } from './status.js';
import { asObject, HttpError, optionalString, readJsonBody, requiredString, sendError, sendJson } from './http.js';
import { managementRoutes, type ManagedObjects } from './management.js';
import {
  DEFAULT_TENANT_LIFETIMES,
  parseLifetimes,
  tenantEligibleForToken,
  tokenSecretManifest,
  type TokenLifetimes,
} from './tenantToken.js';
import { dellVolumes, usageReport, volumesReport } from './usage.js';

export interface AdminTokenDefaults {
  /** Tenant token lifetimes when a request names none. */
  tenant?: TokenLifetimes;
  /** Lifetime of an access token minted by /proxy/refresh-admin/ (Dell: 30 s). */
  refreshedAdminAccessTtlSeconds?: number;
  /** Lifetime of a tenant access token minted by /proxy/refresh-token/. */
  refreshedTenantAccessTtlSeconds?: number;
  /** How close to expiry a tenant may refresh its access token (proactive sidecar refresh). */
  earlyRefreshWindowSeconds?: number;
  /** iss/aud put into minted tenant tokens; must be among what the verifier accepts. */
  issuer?: string;
  audience?: string;
}

export interface AdminDeps {
  resources: ResourceSource;
  /** The ledger, and where reconciliation keeps each system's last drift report. */
  ledger: Ledger & ReconcileStore;
  /** The audit trail's recent decisions (`authzctl why-denied`). */
  decisions?: RecentDecisions;
  /** What `/proxy/status/` reports beyond resources, keys and ledger. */
  status?: Pick<StatusSources, 'replica' | 'ledgerBackend' | 'startedAt'>;
  verifier: TokenVerifier;
  keys: () => SigningKeySet;
  logger: Logger;
  tokenDefaults?: AdminTokenDefaults;
  /** What the CSI node proxy's mount decisions need; without it /proxy/mount/ answers 404. */
  mount?: MountDeps;
  /** The objects karavictl's management requests change; without it those answer 501. */
  objects?: ManagedObjects;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** `body` undefined: no body (Dell's 201/204 answers). */
export interface Reply {
  status: number;
  body: unknown;
}

export interface RouteContext {
  req: http.IncomingMessage;
  query: URLSearchParams;
  /** The caller's admin token claims (an unauthenticated route has none). */
  admin?: TokenClaims;
  /** On `admin-or-tenant` routes: the admin or the tenant calling. */
  caller?: Caller;
}

export interface Route {
  method: Method;
  /** Normalised path, with its trailing '/'. */
  path: string;
  /**
   * `admin`: an admin access token as Bearer. `admin-refresh`: an admin refresh token as Bearer (Dell's
   * CLI on /proxy/refresh-admin/). Only the tenant refresh endpoint is open: the sidecar authenticates
   * with the token pair in the body, and the JWKS (public keys) is public. `admin-or-tenant`: an
   * admin access token, or a tenant's, which sees only its own tenant (Dell serves /proxy/volumes/
   * to tenants).
   */
  auth: 'admin' | 'admin-refresh' | 'admin-or-tenant' | 'none';
  handle(ctx: RouteContext): Promise<Reply>;
}

const DELL_REFRESHED_ACCESS_TTL_SECONDS = 30;

/** Where the public keys of this service's asymmetric signing keys are served (through the edge too). */
export const JWKS_PATH = '/proxy/jwks/';

/** Where the CSI node proxy asks whether a pod may mount a volume. */
export const MOUNT_PATH = '/proxy/mount/';

export function createAdminHandler(deps: AdminDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const routes = adminRoutes(deps);

  return (req, res) => {
    handle(req).then(
      (reply) => (reply.body === undefined ? res.writeHead(reply.status, { 'cache-control': 'no-store' }).end() : sendJson(res, reply.status, reply.body)),
      (error: unknown) => sendError(res, toHttpError(error, deps.logger, req)),
    );
  };

  async function handle(req: http.IncomingMessage): Promise<Reply> {
    const normalised = normalisePath(req.url ?? '/');
    if (!normalised.ok) throw new HttpError(400, normalised.reason);
    const candidates = routes.filter((route) => route.path === normalised.pathname);
    if (candidates.length === 0) throw new HttpError(404, `no admin endpoint ${normalised.pathname}`);
    const route = candidates.find((candidate) => candidate.method === req.method);
    if (!route) {
      const allowed = candidates.map((candidate) => candidate.method).join(', ');
      throw new HttpError(405, `${req.method ?? ''} is not allowed on ${normalised.pathname}; use ${allowed}`, { allow: allowed });
    }
    const query = new URLSearchParams(normalised.query);
    if (route.auth === 'admin-or-tenant') return route.handle({ req, query, caller: await authenticateCaller(req, deps.verifier, deps.resources.current()) });
    const admin = route.auth === 'none' ? undefined : await authenticateAdmin(req, deps.verifier, route.auth === 'admin' ? 'access' : 'refresh');
    return route.handle({ req, query, admin });
  }
}

function adminRoutes(deps: AdminDeps): Route[] {
  const lifetimes = deps.tokenDefaults?.tenant ?? DEFAULT_TENANT_LIFETIMES;
  return [
    ...managementRoutes(deps.objects, deps.logger),
    {
      method: 'GET',
      path: JWKS_PATH,
      auth: 'none',
      // Public keys only (HMAC secrets are never listed), so other parties can verify our ES256/EdDSA
      // tokens without a shared secret; re-read on every request, so a rotated key shows at once.
      async handle() {
        return { status: 200, body: publicJwks(deps.keys()) };
      },
    },
    {
      method: 'POST',
      path: MOUNT_PATH,
      // The CSI node proxy authenticates as the tenant (its Bearer), checked by decideMount.
      auth: 'none',
      async handle({ req }) {
        if (!deps.mount) throw new HttpError(404, 'mount decisions are not enabled on this service');
        const body = asObject(await readJsonBody(req));
        const pod = asObject(body.pod ?? {});
        const request: MountRequest = {
          token: requiredString(body, 'token'),
          volumeId: requiredString(body, 'volumeId'),
          pod: { namespace: requiredString(pod, 'namespace'), name: requiredString(pod, 'name'), uid: requiredString(pod, 'uid'), serviceAccount: requiredString(pod, 'serviceAccount') },
        };
        try {
          return { status: 200, body: await decideMount(deps.mount, req.headers.authorization, request) };
        } catch (error) {
          if (error instanceof MountCallerError) throw new HttpError(error.status, error.message);
          throw error;
        }
      },
    },
    {
      method: 'POST',
      path: '/proxy/refresh-token/',
      auth: 'none',
      async handle({ req }) {
        return refreshTenantToken(await readJsonBody(req), {
          verifier: deps.verifier,
          keys: deps.keys,
          resources: deps.resources,
          accessTtlSeconds: deps.tokenDefaults?.refreshedTenantAccessTtlSeconds ?? DEFAULT_REFRESHED_ACCESS_TTL_SECONDS,
          earlyWindowSeconds: deps.tokenDefaults?.earlyRefreshWindowSeconds ?? DEFAULT_EARLY_REFRESH_WINDOW_SECONDS,
        });
      },
    },
    {
      method: 'POST',
      path: '/proxy/tenant/token/',
      auth: 'admin',
      async handle({ req, admin }) {
        const body = asObject(await readJsonBody(req));
        const name = requiredString(body, 'tenant');
        const ttl = parseLifetimes(optionalString(body, 'accessTokenTTL'), optionalString(body, 'refreshTokenTTL'), lifetimes);
        const tenant = tenantEligibleForToken(deps.resources.current(), name);
        const pair = await mintTokenPair({
          keys: deps.keys(),
          subject: 'csm-tenant',
          group: tenant.name,
          roles: tenant.roles,
          accessTtlSeconds: ttl.accessTtlSeconds,
          refreshTtlSeconds: ttl.refreshTtlSeconds,
          issuer: deps.tokenDefaults?.issuer,
          audience: deps.tokenDefaults?.audience,
        });
        deps.logger.info({ tenant: tenant.name, admin: admin?.group, ...ttl }, 'tenant token pair generated');
        // Dell's response shape, so karavictl/dellctl can talk to this service too.
        return { status: 200, body: { Token: tokenSecretManifest(pair) } };
      },
    },
    {
      method: 'GET',
      path: '/proxy/usage/',
      auth: 'admin-or-tenant',
      async handle({ query, caller }) {
        const tenant = tenantScope(deps, query, caller);
        const drift = driftTallies(await deps.ledger.driftReports(), tenant);
        const rows = usageReport(deps.resources.current(), await deps.ledger.usage(tenant), tenant, drift);
        return { status: 200, body: { usage: rows } };
      },
    },
    {
      method: 'GET',
      path: '/proxy/drift/',
      auth: 'admin',
      // What the last reconciliation pass of each system found (and when), per tenant/system/pool;
      // `systems` also names passes that could not compare (array unreachable), and says how many
      // findings each pass made when only the first MAX_LISTED_FINDINGS of them are listed.
      async handle({ query }) {
        const tenant = tenantFilter(deps, query);
        const reports = await deps.ledger.driftReports();
        const systems = reports.map((report) => {
          const { systemType, systemID, at, mode, error, findings, findingsTotal = findings.length } = report;
          const truncated = findingsTotal > findings.length && { findingsTotal, listed: findings.length, note: findingsSummary(report) };
          return { systemType, systemID, at: new Date(at).toISOString(), mode, ...(error && { error }), ...truncated };
        });
        const drift = driftRows(reports, tenant).map((row) => ({ ...row, at: new Date(row.at).toISOString() }));
        return { status: 200, body: { drift, systems } };
      },
    },
    {
      method: 'GET',
      path: '/proxy/volumes/',
      auth: 'admin-or-tenant',
      async handle({ query, caller }) {
        const tenant = tenantScope(deps, query, caller);
        const volumes = volumesReport(await deps.ledger.volumes(tenant));
        // A tenant gets Dell's answer (a JSON array, what `dellctl volume list --proxy` reads).
        if (caller?.kind === 'tenant') return { status: 200, body: dellVolumes(volumes) };
        return { status: 200, body: { volumes } };
      },
    },
    {
      method: 'GET',
      path: '/proxy/status/',
      auth: 'admin',
      async handle() {
        if (!deps.status) throw new HttpError(404, 'this service reports no status');
        return { status: 200, body: await replicaStatus({ ...deps.status, resources: deps.resources, keys: deps.keys, ledger: deps.ledger }) };
      },
    },
    {
      method: 'GET',
      path: '/proxy/decisions/',
      auth: 'admin',
      // `?id=<x-request-id>`, or `?tenant=&volume=&since=1h`: newest first, each with what would change it.
      async handle({ query }) {
        if (!deps.decisions) throw new HttpError(404, 'this service keeps no decision records');
        const records = await deps.decisions.find(decisionQuery(query));
        const decisions = await Promise.all(records.map(async (record) => ({ ...record, explanation: await explain(record, deps.ledger) })));
        return { status: 200, body: { decisions } };
      },
    },
    {
      method: 'POST',
      path: '/proxy/refresh-admin/',
      auth: 'admin-refresh',
      async handle({ req, admin }) {
        // Dell's CLI sends the refresh token as Bearer (already verified as an admin token) and the
        // pair as {"Access", "Refresh"}, field names matched case-insensitively (reference §2.4).
        const body = lowerCaseKeys(asObject(await readJsonBody(req)));
        const refresh = await verifiedAdmin(deps.verifier, requiredString(body, 'refresh'), 'refresh');
        const access = await verifiedAdmin(deps.verifier, requiredString(body, 'access'), 'access');
        if (access.group !== refresh.group || admin?.group !== refresh.group) {
          throw new HttpError(401, 'access and refresh tokens belong to different admins');
        }
        const ttl = deps.tokenDefaults?.refreshedAdminAccessTtlSeconds ?? DELL_REFRESHED_ACCESS_TTL_SECONDS;
        const token = await mintAccessFromRefresh(refresh, deps.keys(), ttl);
        deps.logger.info({ admin: refresh.group }, 'admin access token refreshed');
        return { status: 200, body: { AccessToken: token } };
      },
    },
  ];
}

/** A tenant caller sees only itself (`?tenant=` may name only itself); an admin any or every tenant. */
function tenantScope(deps: AdminDeps, query: URLSearchParams, caller: Caller | undefined): string | undefined {
  if (caller?.kind !== 'tenant') return tenantFilter(deps, query);
  const own = caller.tenant.name;
  const asked = query.get('tenant');
  if (asked !== null && asked !== own) throw new HttpError(403, `a tenant token shows only its own tenant ("${own}"), not "${asked}"`);
  return own;
}

/** `?tenant=` names a tenant that must exist in the live resources; absent means every tenant. */
const DECISIONS_LIMIT = 100;

function decisionQuery(query: URLSearchParams): DecisionQuery {
  const value = (name: string) => {
    const given = query.get(name) ?? undefined;
    if (given === '') throw new HttpError(400, `query parameter "${name}" is empty`);
    return given;
  };
  const id = value('id');
  const tenant = value('tenant');
  const volume = value('volume');
  const since = value('since');
  if (id === undefined && tenant === undefined) throw new HttpError(400, 'give "id" (a request id) or "tenant"');
  let sinceMs: number | undefined;
  if (since !== undefined) {
    try {
      sinceMs = Date.now() - parseGoDuration(since);
    } catch (error) {
      throw new HttpError(400, `query parameter "since": ${(error as Error).message}`);
    }
  }
  return { ...(id !== undefined && { id }), ...(tenant !== undefined && { tenant }), ...(volume !== undefined && { volume }), ...(sinceMs !== undefined && { since: sinceMs }), limit: id === undefined ? DECISIONS_LIMIT : 1 };
}

function tenantFilter(deps: AdminDeps, query: URLSearchParams): string | undefined {
  const tenant = query.get('tenant') ?? undefined;
  if (tenant === undefined) return undefined;
  if (tenant === '') throw new HttpError(400, 'query parameter "tenant" is empty');
  if (!deps.resources.current().tenants.has(tenant)) throw new HttpError(404, `tenant "${tenant}" not found`);
  return tenant;
}

/** The refresh token must be live; the access token may have expired (that is why it is refreshed). */
async function verifiedAdmin(verifier: TokenVerifier, token: string, kind: TokenKind): Promise<TokenClaims> {
  let claims: TokenClaims;
  try {
    claims = kind === 'access' ? await verifier.verifyAllowingExpiry(token, kind) : await verifier.verify(token, kind);
  } catch (error) {
    if (error instanceof TokenError) throw new HttpError(401, `${kind} token: ${error.message}`);
    throw error;
  }
  if (claims.sub !== ADMIN_SUBJECT) throw new HttpError(403, `${kind} token is not an admin token`);
  return claims;
}

function lowerCaseKeys(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [key.toLowerCase(), value]));
}

/** Known failures keep their status; anything else is a 500 whose detail stays in the log. */
function toHttpError(error: unknown, logger: Logger, req: http.IncomingMessage): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof LedgerUnavailableError) return new HttpError(503, 'quota store unavailable');
  logger.error({ err: (error as Error).message, method: req.method, path: req.url?.split('?')[0] }, 'admin request failed');
  return new HttpError(500, 'internal error');
}
