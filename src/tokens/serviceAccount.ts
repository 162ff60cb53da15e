// Verifies a tenant cluster's service-account tokens (CSMTenant.spec.identities): the driver pod's
// own projected token, which kubelet rotates, replaces the pasted Dell token pair. Such a token is
// an asymmetric JWT whose `iss` is a trusted issuer; it is verified against that issuer's JWKS
// (found by OIDC discovery when no JWKS is configured; jose's remote key set: cached, refetched when
// a token names an unknown `kid` at most once per cooldown, with a fetch timeout), only with RS256/ES256 — never `none` or HS* — and its `aud`
// must contain the identity's audience and its `sub` be one of the identity's service accounts.
// Anything that cannot be checked (keys unreachable, garbage) is refused: fail closed.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import type { ResourceSnapshot, Tenant, TrustedIdentity } from '../resources/types.js';
import type { TokenClaims } from './types.js';
import { DEFAULT_ACCEPTED_ISSUERS, isoTime, TokenError } from './verify.js';

/** Asymmetric algorithms a Kubernetes issuer signs with; HS* would let a key holder forge tokens. */
export const SERVICE_ACCOUNT_ALGORITHMS = ['RS256', 'ES256'] as const;

export interface ServiceAccountVerifierOptions {
  /** Fetch timeout of a JWKS (default 5 s). */
  timeoutMs?: number;
  /** Least time between two refetches caused by unknown `kid`s (default 30 s): a rate limit. */
  cooldownMs?: number;
  /** A fetched JWKS is refetched after this long, so a retired key stops verifying (default 5 min). */
  maxAgeMs?: number;
  clockSkewSeconds?: number;
  /** Issuers of this service's own tokens (which may be ES256): left to the Dell verifier. */
  ownIssuers?: readonly string[];
  /** Unix seconds; for tests. */
  now?: () => number;
}

export interface ServiceAccountIdentity {
  claims: TokenClaims;
  tenant: Tenant;
}

interface Trust {
  tenant: Tenant;
  identity: TrustedIdentity;
}

const MAX_TOKEN_LENGTH = 8192;
/** Distinct protected headers remembered (a garbage-header flood just restarts the memo). */
const HEADER_MEMO_SIZE = 256;
const NOT_A_JWT = Symbol('not a JWT');

export class ServiceAccountVerifier {
  private readonly options: Required<Omit<ServiceAccountVerifierOptions, 'now'>> & { now: () => number };
  /** Key sets by their source (URL + CA, or inline JWKS): a reload keeps the cache of an unchanged source. */
  private keySets = new Map<string, { getKey: JWTVerifyGetKey; close?: () => Promise<void> }>();
  private indexed?: { snapshot: ResourceSnapshot; byIssuer: Map<string, Trust[]> };
  private readonly headerAlgorithms = new Map<string, unknown>();

  constructor(options: ServiceAccountVerifierOptions = {}) {
    this.options = {
      timeoutMs: options.timeoutMs ?? 5_000,
      cooldownMs: options.cooldownMs ?? 30_000,
      maxAgeMs: options.maxAgeMs ?? 300_000,
      clockSkewSeconds: options.clockSkewSeconds ?? 30,
      ownIssuers: options.ownIssuers ?? DEFAULT_ACCEPTED_ISSUERS,
      now: options.now ?? (() => Math.floor(Date.now() / 1000)),
    };
  }

  /**
   * The tenant a service-account token acts as; undefined when the token is not one (an HS256 Dell
   * token, for the Dell verifier); a TokenError when it is one and is not acceptable.
   */
  async verify(token: string, resources: ResourceSnapshot): Promise<ServiceAccountIdentity | undefined> {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    const alg = this.algorithmOf(token);
    // Not a JWT, or an HS256 Dell token (every data-path request of a Dell tenant): the Dell verifier's.
    if (alg === NOT_A_JWT || (typeof alg === 'string' && alg.startsWith('HS'))) return undefined;
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      return undefined; // not a JWT: the Dell verifier names the problem
    }
    const trusts = this.index(resources).get(String(unverified.iss));
    if (!trusts) {
      if (this.options.ownIssuers.includes(String(unverified.iss))) return undefined;
      // Only a token shaped like a cluster's (RS256/ES256) is named as from an untrusted issuer; `none`
      // and the rest go to the Dell verifier, which refuses their algorithm.
      if (!(SERVICE_ACCOUNT_ALGORITHMS as readonly unknown[]).includes(alg)) return undefined;
      throw new TokenError('wrong-issuer', `token issuer ${JSON.stringify(unverified.iss)} is not trusted by any tenant (CSMTenant spec.identities)`);
    }
    const sub = String(unverified.sub);
    const trust = trusts.find((t) => t.identity.subjects.includes(sub));
    if (!trust) {
      throw new TokenError('wrong-subject', `service account "${sub}" is not trusted for issuer "${String(unverified.iss)}"`);
    }
    const payload = await this.verifySignature(token, trust.identity);
    const now = this.options.now();
    if (payload.iat !== undefined && payload.iat > now + this.options.clockSkewSeconds) {
      throw new TokenError('not-yet-valid', `token is issued in the future, at ${isoTime(payload.iat)} (iat); check the clocks`);
    }
    const claims: TokenClaims = Object.freeze({
      iss: trust.identity.issuer,
      aud: trust.identity.audiences.find((a) => audiencesOf(payload).includes(a)) as string,
      sub,
      group: trust.tenant.name,
      roles: trust.tenant.roles.join(','),
      exp: payload.exp as number,
      ...(payload.iat !== undefined ? { iat: payload.iat } : {}),
      ...(payload.nbf !== undefined ? { nbf: payload.nbf } : {}),
      token_use: 'access' as const,
    });
    return { claims, tenant: trust.tenant };
  }

  /**
   * A workload pod's token (CSI `serviceAccount.tokens`, kubelet-requested for our audience) from a
   * cluster `tenant` trusts: verified like a driver's token, except that any service account of that
   * cluster may hold one. Returns the verified payload and the trust it was verified under.
   */
  /**
   * The `alg` of a token's protected header. Decoded headers are remembered by their encoded text:
   * a fleet sends a handful of distinct headers, and this runs before the Dell verifier's cache on
   * every request, so decoding each token's header and payload again cost more than the decision.
   */
  private algorithmOf(token: string): unknown {
    const dot = token.indexOf('.');
    const segment = dot < 0 ? token : token.slice(0, dot);
    if (this.headerAlgorithms.has(segment)) return this.headerAlgorithms.get(segment);
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      alg = NOT_A_JWT;
    }
    if (this.headerAlgorithms.size >= HEADER_MEMO_SIZE) this.headerAlgorithms.clear();
    this.headerAlgorithms.set(segment, alg);
    return alg;
  }

  async verifyWorkload(token: string, tenant: Tenant): Promise<{ payload: JWTPayload; identity: TrustedIdentity }> {
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenError('malformed', 'token is too long');
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new TokenError('malformed', 'token is not a JWT');
    }
    const identity = tenant.identities?.find((candidate) => candidate.issuer === iss);
    if (!identity) throw new TokenError('wrong-issuer', `token issuer ${JSON.stringify(iss)} is not a cluster tenant "${tenant.name}" trusts`);
    return { payload: await this.verifySignature(token, identity), identity };
  }

  async close(): Promise<void> {
    await Promise.all([...this.keySets.values()].map((set) => set.close?.()));
    this.keySets.clear();
  }

  private async verifySignature(token: string, identity: TrustedIdentity): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, this.keySet(identity), {
        issuer: identity.issuer,
        audience: identity.audiences,
        algorithms: [...SERVICE_ACCOUNT_ALGORITHMS],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.options.clockSkewSeconds,
        currentDate: new Date(this.options.now() * 1000),
      });
      return payload;
    } catch (error) {
      throw asTokenError(error, identity);
    }
  }

  private keySet(identity: TrustedIdentity): JWTVerifyGetKey {
    const source = sourceOf(identity);
    let set = this.keySets.get(source);
    if (!set) {
      const { keys } = identity;
      if (keys.kind === 'inline') {
        set = { getKey: createLocalJWKSet(keys.jwks as unknown as JSONWebKeySet) };
      } else {
        const agent = keys.caBundle ? new Agent({ connect: { ca: keys.caBundle } }) : undefined;
        const fetchWithCa = (url: string, init: Record<string, unknown>) =>
          undiciFetch(url, { ...init, ...(agent ? { dispatcher: agent } : {}) } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
        const remote = (jwksUri: URL) =>
          createRemoteJWKSet(jwksUri, {
            timeoutDuration: this.options.timeoutMs,
            cooldownDuration: this.options.cooldownMs,
            cacheMaxAge: this.options.maxAgeMs,
            [customFetch]: fetchWithCa,
          });
        set = {
          getKey: keys.kind === 'remote' ? remote(new URL(keys.jwksUri)) : this.discovered(identity.issuer, fetchWithCa, remote),
          ...(agent ? { close: () => agent.close() } : {}),
        };
      }
      this.keySets.set(source, set);
    }
    return set.getKey;
  }

  /**
   * The key set at the `jwks_uri` of the issuer's OIDC discovery document, looked up on first use.
   * A failed lookup is retried at most once per cooldown; until one succeeds, tokens are refused
   * (keys-unavailable).
   */
  private discovered(issuer: string, fetchWithCa: (url: string, init: Record<string, unknown>) => Promise<Response>, remote: (jwksUri: URL) => JWTVerifyGetKey): JWTVerifyGetKey {
    let resolved: Promise<JWTVerifyGetKey> | undefined;
    let failedAt = Number.NEGATIVE_INFINITY;
    const lookUp = async (): Promise<JWTVerifyGetKey> => {
      const response = await fetchWithCa(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'manual',
        headers: { accept: 'application/json' },
      });
      if (response.status !== 200) throw new Error(`OIDC discovery of ${issuer} answered ${response.status}`);
      const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
      // OIDC Discovery §4.3: the document must name the issuer it was fetched for.
      if (document.issuer !== issuer) throw new Error(`OIDC discovery of ${issuer} names issuer ${JSON.stringify(document.issuer)}`);
      if (typeof document.jwks_uri !== 'string' || !URL.canParse(document.jwks_uri) || new URL(document.jwks_uri).protocol !== 'https:') {
        throw new Error(`OIDC discovery of ${issuer} has no https jwks_uri`);
      }
      return remote(new URL(document.jwks_uri));
    };
    return async (header, token) => {
      if (!resolved) {
        if (Date.now() - failedAt < this.options.cooldownMs) throw new Error(`OIDC discovery of ${issuer} failed recently`);
        resolved = lookUp();
        resolved.catch(() => {
          resolved = undefined;
          failedAt = Date.now();
        });
      }
      return (await resolved)(header, token);
    };
  }

  /** Trusted identities by issuer, rebuilt when the snapshot changes (key sets of dropped sources closed). */
  private index(snapshot: ResourceSnapshot): Map<string, Trust[]> {
    if (this.indexed?.snapshot === snapshot) return this.indexed.byIssuer;
    const byIssuer = new Map<string, Trust[]>();
    const sources = new Set<string>();
    for (const tenant of snapshot.tenants.values()) {
      for (const identity of tenant.identities ?? []) {
        byIssuer.set(identity.issuer, [...(byIssuer.get(identity.issuer) ?? []), { tenant, identity }]);
        sources.add(sourceOf(identity));
      }
    }
    for (const [source, set] of this.keySets) {
      if (sources.has(source)) continue;
      this.keySets.delete(source);
      void set.close?.();
    }
    this.indexed = { snapshot, byIssuer };
    return byIssuer;
  }
}

/** What identifies a key set: its source, and for discovery the issuer it is discovered from. */
function sourceOf(identity: TrustedIdentity): string {
  return JSON.stringify(identity.keys.kind === 'discovery' ? { ...identity.keys, issuer: identity.issuer } : identity.keys);
}

function audiencesOf(payload: JWTPayload): string[] {
  if (Array.isArray(payload.aud)) return payload.aud;
  return payload.aud === undefined ? [] : [payload.aud];
}

/** jose's errors as the reasons a caller sees; the token itself is never part of a message. */
function asTokenError(error: unknown, identity: TrustedIdentity): TokenError {
  if (error instanceof joseErrors.JWTExpired) return new TokenError('expired', `token expired at ${isoTime(Number(error.payload.exp))}`);
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return new TokenError('wrong-audience', `token audience is none of ${identity.audiences.join(', ')}`);
    if (error.claim === 'nbf') return new TokenError('not-yet-valid', `token is not valid before ${isoTime(Number(error.payload.nbf))} (nbf)`);
    if (error.claim === 'iss') return new TokenError('wrong-issuer', `token issuer is not "${identity.issuer}"`);
    return new TokenError('malformed', `token claim "${error.claim}" is invalid: ${error.reason}`);
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new TokenError('unsupported-algorithm', `token algorithm is not accepted; only ${SERVICE_ACCOUNT_ALGORITHMS.join(', ')}`);
  if (error instanceof joseErrors.JWKSNoMatchingKey) return new TokenError('unknown-key', `token was signed with a key that issuer "${identity.issuer}" does not (or no longer) publish`);
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new TokenError('bad-signature', `token signature does not match issuer "${identity.issuer}"'s key`);
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) return new TokenError('malformed', 'token is not a valid JWT');
  // Timeout, refused connection, non-200 or a body that is no JWKS: nothing verifies until it is fixed.
  return new TokenError('keys-unavailable', `the keys of issuer "${identity.issuer}" could not be fetched; its tokens are refused until they can be`);
}
