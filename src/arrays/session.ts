// The service's own sessions on arrays, shared by every adapter whose array hands out sessions
// (PowerFlex login tokens, PowerStore auth_cookie + DELL-EMC-TOKEN): one session per system, one
// login at a time, renewed before the array would expire it (by age and by idleness), dropped as
// soon as the array refuses it, and a failed login not retried under load. The adapter supplies
// only its login call and what its session value is.
import { createHash } from 'node:crypto';
import type { ArrayCredentials, StorageSystem } from '../resources/types.js';
import { storageKey } from '../resources/types.js';
import { ArrayLookupError } from './types.js';

export interface SessionPoolOptions {
  /** Log in again once a session is this old (before the array's absolute timeout). */
  maxAgeMs: number;
  /**
   * Log in again once a session has not been used for this long (before the array's idle timeout).
   * A login may report a shorter idle timeout of its own (`LoggedIn.idleTimeoutMs`); the smaller wins.
   */
  maxIdleMs?: number;
  /**
   * Renew this long before a login's own idle timeout runs out (a request in flight must still find
   * it alive); at most half that timeout, so a short one is not renewed on every request.
   */
  idleMarginMs?: number;
  /**
   * After a failed login, requests fail at once for this long instead of logging in again: a wrong
   * password under load must not hammer the array (which locks accounts after failed logins).
   * A changed credential file is tried immediately.
   */
  loginRetryMs?: number;
  /**
   * A session the array refused on a forwarded request is dropped only once it is this old. Tenants
   * choose the paths they send: were some path answered 401 whatever the credential, each such
   * request would otherwise cost a login (and a session on the array).
   */
  minRefusedSessionAgeMs?: number;
  now?: () => number;
}

/** What a login yields: the session value and, if the array says so, how long it lives. */
export interface LoggedIn<S> {
  value: S;
  /** Renew after this long, if sooner than `maxAgeMs` (e.g. a part of an access token's lifetime). */
  renewAfterMs?: number;
  /** Renew once unused for this long, less the margin (the array's idle timeout). */
  idleTimeoutMs?: number;
}

/**
 * Opens a session. `previous` is the system's session that is due for renewal (same array, same
 * credentials, not refused), for arrays that renew with what a session holds (a refresh token).
 */
export type Login<S> = (previous: S | undefined) => Promise<LoggedIn<S>>;

/**
 * A session this far into its life is renewed in the background while it still serves, so that no
 * request waits for a renewal that was due (Dell's proxy renews PowerFlex tokens in the background
 * too). If that login has not finished by `renewAt`, requests from then on wait for it.
 */
const RENEW_AHEAD_FRACTION = 0.9;

interface Session<S> {
  value: S;
  obtainedAt: number;
  /** A background renewal starts with the first request from then on. */
  renewAheadAt: number;
  renewAt: number;
  lastUsedAt: number;
  /** Renew once unused for this long. */
  idleLimitMs: number;
  /** Hash of what it was obtained with (endpoint, TLS mode, credentials): any change forces a new login. */
  identity: string;
}

export class SessionPool<S> {
  private readonly sessions = new Map<string, Session<S>>();
  private readonly logins = new Map<string, { identity: string; pending: Promise<Session<S>> }>();
  private readonly failedLogins = new Map<string, { identity: string; until: number; error: ArrayLookupError }>();
  private readonly now: () => number;
  private readonly loginRetryMs: number;
  private readonly minRefusedSessionAgeMs: number;
  private readonly idleMarginMs: number;

  constructor(private readonly options: SessionPoolOptions) {
    this.now = options.now ?? Date.now;
    this.loginRetryMs = options.loginRetryMs ?? 5_000;
    this.minRefusedSessionAgeMs = options.minRefusedSessionAgeMs ?? 1_000;
    this.idleMarginMs = options.idleMarginMs ?? 0;
  }

  /**
   * A current session for this system: cached and marked used, renewed once too old or too long
   * unused (or when `rejected` recognises it: a call was just refused with it), one login at a time.
   * Near the end of its age (RENEW_AHEAD_FRACTION) it is renewed in the background and still served.
   */
  async current(system: StorageSystem, credentials: ArrayCredentials, login: Login<S>, rejected?: (value: S) => boolean): Promise<S> {
    const key = storageKey(system.type, system.systemID);
    const identity = sessionIdentity(system, credentials);
    const session = this.sessions.get(key);
    const now = this.now();
    const current = session && session.identity === identity && !rejected?.(session.value) ? session : undefined;
    if (current && now < current.renewAt && now - current.lastUsedAt < current.idleLimitMs) {
      current.lastUsedAt = now;
      if (now >= current.renewAheadAt) this.renewAhead(key, identity, () => login(current.value));
      return current.value;
    }

    const inFlight = this.logins.get(key);
    if (inFlight && inFlight.identity === identity) return (await inFlight.pending).value;
    const failed = this.failedLogins.get(key);
    if (failed && failed.identity === identity && now < failed.until) throw failed.error;
    return (await this.logIn(key, identity, () => login(current?.value))).value;
  }

  /** Starts a login unless one is in flight or failed a moment ago; its failure is the next waiting request's to see. */
  private renewAhead(key: string, identity: string, login: () => Promise<LoggedIn<S>>): void {
    if (this.logins.has(key)) return;
    const failed = this.failedLogins.get(key);
    if (failed && failed.identity === identity && this.now() < failed.until) return;
    this.logIn(key, identity, login).catch(() => undefined);
  }

  /** One login for this system, shared by whoever asks while it runs; a failure is remembered for `loginRetryMs`. */
  private async logIn(key: string, identity: string, login: () => Promise<LoggedIn<S>>): Promise<Session<S>> {
    const pending = this.open(login, identity);
    this.logins.set(key, { identity, pending });
    try {
      const next = await pending;
      this.sessions.set(key, next);
      this.failedLogins.delete(key);
      return next;
    } catch (error) {
      if (error instanceof ArrayLookupError) this.failedLogins.set(key, { identity, until: this.now() + this.loginRetryMs, error });
      throw error;
    } finally {
      if (this.logins.get(key)?.pending === pending) this.logins.delete(key);
    }
  }

  /**
   * The array answered 401 to a forwarded request (it restarted, or expired the session early):
   * drops this system's session if `refused` recognises it, so the next request logs in again (one
   * login, as in `current`) instead of carrying a dead credential until it ages out. A session
   * obtained since then is kept: a late report must not kill it. Returns whether one was dropped.
   */
  refused(system: StorageSystem, refused: (value: S) => boolean): boolean {
    const key = storageKey(system.type, system.systemID);
    const session = this.sessions.get(key);
    if (!session || this.now() - session.obtainedAt < this.minRefusedSessionAgeMs || !refused(session.value)) return false;
    this.sessions.delete(key);
    return true;
  }

  private async open(login: () => Promise<LoggedIn<S>>, identity: string): Promise<Session<S>> {
    const { value, renewAfterMs, idleTimeoutMs } = await login();
    const now = this.now();
    const arrayIdle = idleTimeoutMs === undefined ? Infinity : idleTimeoutMs - Math.min(this.idleMarginMs, idleTimeoutMs / 2);
    const lifetimeMs = Math.min(this.options.maxAgeMs, renewAfterMs ?? Infinity);
    return {
      value,
      obtainedAt: now,
      renewAheadAt: now + lifetimeMs * RENEW_AHEAD_FRACTION,
      renewAt: now + lifetimeMs,
      lastUsedAt: now,
      idleLimitMs: Math.min(this.options.maxIdleMs ?? Infinity, arrayIdle),
      identity,
    };
  }
}

/** The session settings an array client takes from its caller (the defaults are the array's). */
export interface ArraySessionOptions {
  /** Log in again once a session is this old. */
  sessionMaxAgeMs?: number;
  /** Renew this long before the idle timeout the login reported, so a request in flight still finds the session alive. */
  idleMarginMs?: number;
  /** After a failed login, fail at once for this long (accounts lock after failed logins). */
  loginRetryMs?: number;
  /** A session the array refused on a forwarded request is dropped only once it is this old. */
  minRefusedSessionAgeMs?: number;
  now?: () => number;
}

/** A client's session pool from its options, with its array's defaults for age and idle margin. */
export function arraySessionPool<S>(options: ArraySessionOptions, defaults: { maxAgeMs: number; idleMarginMs: number }): SessionPool<S> {
  return new SessionPool<S>({
    maxAgeMs: options.sessionMaxAgeMs ?? defaults.maxAgeMs,
    idleMarginMs: options.idleMarginMs ?? defaults.idleMarginMs,
    ...(options.loginRetryMs === undefined ? {} : { loginRetryMs: options.loginRetryMs }),
    ...(options.minRefusedSessionAgeMs === undefined ? {} : { minRefusedSessionAgeMs: options.minRefusedSessionAgeMs }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

/**
 * `build` run once per object: for what an allow derives from a session (its credential headers),
 * since the pool hands out the same session object until it renews one, and from a credentials
 * object (the credential files hand out the same one until a file changes).
 */
export function oncePerObject<K extends object, V>(build: (key: K) => V): (key: K) => V {
  const built = new WeakMap<K, V>();
  return (key) => {
    if (built.has(key)) return built.get(key)!;
    const value = build(key);
    built.set(key, value);
    return value;
  };
}

/** By Storage object (a new one per resources generation): the credentials it was last hashed with. */
const identities = new WeakMap<StorageSystem, { credentials: ArrayCredentials; identity: string }>();

/**
 * A session belongs to one array, reached one way, with one credential; only a hash is kept. Hashed
 * once per (Storage object, credentials object): the credential files hand out the same object until
 * a file changes, and a sha256 per request was 2.5% of a read's CPU.
 */
function sessionIdentity(system: StorageSystem, credentials: ArrayCredentials): string {
  const known = identities.get(system);
  if (known?.credentials === credentials) return known.identity;
  const parts = [system.endpoint, String(system.skipCertificateValidation), credentials.username, credentials.password];
  const identity = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  identities.set(system, { credentials, identity });
  return identity;
}
