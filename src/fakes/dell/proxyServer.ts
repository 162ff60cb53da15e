// A fake of Dell's v1 proxy-server (CSM for Authorization v1.14.0) as a tenant sidecar sees it: the
// token rules of reference §1.3 (auth middleware) and §2.4 (tenant refresh), for testing a sidecar
// against Dell's server without running Dell's Go services (they need Redis, three gRPC services and
// a Kubernetes cluster; none of that changes what the sidecar sees). Behind the auth middleware it
// stands in for the array with a 200, so what is under test is only the token life cycle:
// - path clean: a trailing `/` is always appended;
// - `/proxy/refresh-token/` (no auth): body `{refreshToken, accessToken}`; the refresh token must
//   verify (HS256, `exp`); an access token that still verifies is refused with 500
//   `rpc error: code = Unknown desc = access token was valid` (plain text); an expired one is
//   re-minted from the refresh token's claims with `exp = now + accessTtlSeconds` (Dell: 30 s);
// - every other path: `Authorization: Bearer <jwt>` must verify, else 401 `{"error","code":401}`;
//   Dell validates signature and `exp` only, with no clock-skew allowance (a token is valid while
//   the whole second now is before `exp`, as jose and Dell's JWT library both count it).
import type { ServerResponse } from 'node:http';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { FakeArrayServer, type SeenRequest } from '../https.js';

/** Dell's fixed lifetime of a refreshed access token (§2.2). */
export const DELL_REFRESHED_ACCESS_TTL_SECONDS = 30;

export interface FakeDellProxyServerOptions {
  /** Dell's `web.jwtsigningsecret`. */
  signingSecret: string;
  /** Lifetime of a refreshed access token; Dell fixes it at 30 s, tests may shorten it. */
  accessTtlSeconds?: number;
}

/** A data-path request as the server judged it. */
export interface DataPathRequest {
  at: number;
  path: string;
  status: number;
}

export interface RefreshCall {
  at: number;
  status: number;
  answer: string;
}

export class FakeDellProxyServer extends FakeArrayServer {
  readonly dataPath: DataPathRequest[] = [];
  readonly refreshes: RefreshCall[] = [];
  private readonly secret: Uint8Array;
  private readonly accessTtlSeconds: number;

  private constructor(options: FakeDellProxyServerOptions) {
    super();
    this.secret = new TextEncoder().encode(options.signingSecret);
    this.accessTtlSeconds = options.accessTtlSeconds ?? DELL_REFRESHED_ACCESS_TTL_SECONDS;
  }

  static start(options: FakeDellProxyServerOptions): Promise<FakeDellProxyServer> {
    return new FakeDellProxyServer(options).listen('karavi-proxy-server');
  }

  /** A tenant pair as Dell's tenant-service mints it (§2.1): identical claims but `exp`, no `iat`. */
  async issueTenantPair(tenant: string, roles: string[], accessTtlSeconds: number, refreshTtlSeconds: number): Promise<{ access: string; refresh: string }> {
    const claims = { iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant', group: tenant, roles: roles.join(',') };
    const now = Math.floor(Date.now() / 1000);
    return { access: await this.sign(claims, now + accessTtlSeconds), refresh: await this.sign(claims, now + refreshTtlSeconds) };
  }

  private sign(claims: JWTPayload, exp: number): Promise<string> {
    return new SignJWT({ ...claims, exp }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(this.secret);
  }

  private verify(token: string): Promise<JWTPayload> {
    return jwtVerify(token, this.secret, { algorithms: ['HS256'] }).then((result) => result.payload);
  }

  protected respond(request: SeenRequest, res: ServerResponse): void {
    const path = cleanPath(request.path);
    const answer = path === '/proxy/refresh-token/' ? this.refresh(request.body) : this.authenticate(request.headers.authorization);
    void answer.then(({ status, type, body }) => {
      const at = Date.now();
      if (path === '/proxy/refresh-token/') this.refreshes.push({ at, status, answer: status === 200 ? 'accessToken' : body });
      else this.dataPath.push({ at, path, status });
      res.writeHead(status, { 'content-type': type }).end(body);
    });
  }

  private async authenticate(header: string | string[] | undefined): Promise<Answer> {
    const parts = typeof header === 'string' ? header.split(' ') : [];
    if (parts.length !== 2) return json(401, { error: 'invalid authz header', code: 401 });
    try {
      await this.verify(parts[1]!);
    } catch (error) {
      return json(401, { error: (error as Error).message, code: 401 });
    }
    // Here Dell dispatches to the array handler; the fake array answers every call.
    return json(200, { ok: true });
  }

  private async refresh(body: string): Promise<Answer> {
    let pair: { refreshToken?: unknown; accessToken?: unknown };
    try {
      pair = JSON.parse(body) as typeof pair;
    } catch {
      return text(500, 'decoding token pair');
    }
    let refreshClaims: JWTPayload;
    try {
      refreshClaims = await this.verify(String(pair.refreshToken));
    } catch (error) {
      return grpcError((error as Error).message);
    }
    try {
      await this.verify(String(pair.accessToken));
      return grpcError('access token was valid');
    } catch (error) {
      if (!(error instanceof errors.JWTExpired)) return grpcError((error as Error).message);
    }
    if (!refreshClaims.sub) return grpcError('invalid tenant');
    const accessToken = await this.sign(refreshClaims, Math.floor(Date.now() / 1000) + this.accessTtlSeconds);
    return json(200, { accessToken });
  }
}

interface Answer {
  status: number;
  type: string;
  body: string;
}

const json = (status: number, body: unknown): Answer => ({ status, type: 'application/json', body: JSON.stringify(body) });
const text = (status: number, body: string): Answer => ({ status, type: 'text/plain; charset=utf-8', body: `${body}\n` });
/** How Dell's proxy relays a tenant-service error: 500, the gRPC status text. */
const grpcError = (message: string): Answer => text(500, `rpc error: code = Unknown desc = ${message}`);

function cleanPath(target: string): string {
  const path = target.split('?')[0] ?? '/';
  return path.endsWith('/') ? path : `${path}/`;
}
