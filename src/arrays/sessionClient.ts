// What an array client whose credential is a login session shares (PowerStore's cookie + CSRF
// token, OneFS's isisessid + X-CSRF-Token): one HTTPS client, one session pool, and the two calls
// the adapter makes on it. Each subclass says only how it logs in and what it asks the array.
import type { ArrayCredentials, StorageSystem } from '../resources/types.js';
import { ArrayHttp } from './http.js';
import { arraySessionPool, type ArraySessionOptions, type SessionPool } from './session.js';

export interface SessionClientOptions extends ArraySessionOptions {
  /** Extra trusted CA certificates (PEM) for array TLS; the system trust store (and NODE_EXTRA_CA_CERTS) otherwise. */
  ca?: string;
  /** Per array call: connect, headers and body (default 10 s). */
  requestTimeoutMs?: number;
}

export abstract class SessionArrayClient<S> {
  protected readonly http: ArrayHttp;
  private readonly sessions: SessionPool<S>;

  constructor(arrayName: string, options: SessionClientOptions, lifetimes: { maxAgeMs: number; idleMarginMs: number }) {
    this.http = new ArrayHttp(arrayName, { ...(options.ca === undefined ? {} : { ca: options.ca }), requestTimeoutMs: options.requestTimeoutMs ?? 10_000 });
    this.sessions = arraySessionPool(options, lifetimes);
  }

  /** Opens a session with the array's real credentials; `idleTimeoutMs` as the array reports it. */
  protected abstract login(system: StorageSystem, credentials: ArrayCredentials): Promise<{ value: S; idleTimeoutMs?: number }>;

  /** A current session for this system: cached, renewed before it times out, one login at a time; `rejected` is replaced. */
  session(system: StorageSystem, credentials: ArrayCredentials, rejected?: S): Promise<S> {
    return this.sessions.current(system, credentials, () => this.login(system, credentials), rejected && ((session) => session === rejected));
  }

  /** The array answered 401 to a forwarded request: drop the session `refused` recognises (see SessionPool.refused). */
  sessionRefused(system: StorageSystem, refused: (session: S) => boolean): boolean {
    return this.sessions.refused(system, refused);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
