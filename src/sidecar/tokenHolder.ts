// The tenant's current access token, kept fresh. Dell's sidecar refreshes only after a request has
// already failed with 401 and reads tokens from environment variables (a re-issued token needs a pod
// restart). This holder refreshes at a fixed fraction of the access token's lifetime, so no request
// leaves with an expired token, and watches the mounted `proxy-authz-tokens` secret so a new pair
// takes effect at once. Token values are never logged.
//
// Dell's proxy-server refuses every refresh while the access token is still valid (§2.4, 500
// `access token was valid`). The first such refusal switches the holder to refreshing at expiry:
// the current token is used until its last `expiryMarginMs`, the refresh runs as it expires, and the
// requests in between wait for the successor (`awaitToken`) instead of failing.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { watchAndReload, type ReloadingValue } from '../resources/watch.js';
import type { Logger } from '../telemetry/log.js';

export interface TokenPairFiles {
  accessToken: string;
  refreshToken: string;
}

/** What a refresh call came back with; transport failures are thrown. */
export type RefreshOutcome =
  | { kind: 'refreshed'; accessToken: string }
  | { kind: 'refused'; status: number; reason?: string; message: string };

export type Refresher = (pair: TokenPairFiles) => Promise<RefreshOutcome>;

/** The clock and timers the holder runs on; injectable so tests control time. */
export interface Clock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * Where the pair comes from: the mounted `proxy-authz-tokens` secret (files `access`, `refresh`,
 * watched), or environment variables as Dell's driver charts set them (`ACCESS_TOKEN`,
 * `REFRESH_TOKEN` from that secret: fixed for the container's life, so refreshing is all there is).
 */
export type TokenSource = { kind: 'files'; dir: string } | { kind: 'environment'; accessToken: string; refreshToken: string };

export interface TokenHolderOptions {
  tokens: TokenSource;
  refresher: Refresher;
  logger: Logger;
  clock?: Clock;
  /** Refresh when this fraction of the access token's lifetime has passed (default 0.6). */
  refreshAtFraction?: number;
  /** First retry delay after a failed refresh; doubles per failure up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A token this close to its expiry is no longer handed out (default 500 ms). */
  expiryMarginMs?: number;
  random?: () => number;
  /**
   * How long a request with no valid token waits for the refresh that is running or due (default
   * 3000 ms; the sidecar Envoy's ext_authz timeout is longer).
   */
  awaitTokenMs?: number;
}

export type CurrentToken = { kind: 'token'; accessToken: string } | { kind: 'unavailable'; reason: string };

/** Where the sidecar's Check gets the token for a request. */
export interface AccessTokenSource {
  /** The token to send, waiting briefly for one that is on its way; otherwise why there is none. */
  awaitToken(): Promise<CurrentToken>;
}

/** The token held now, valid or not, and until when it may be sent (its expiry less the margin). */
export interface HeldToken {
  accessToken: string;
  /** Milliseconds since the epoch. */
  usableUntil: number;
}

/** What the sidecar's Envoy is fed from (tokenFeed.ts): the held token and word when it changes. */
export interface HeldTokenSource {
  held(): HeldToken;
  onChange(listener: () => void): void;
}

export interface TokenHolderStatus {
  ready: boolean;
  /** Why the sidecar cannot (or soon will not) authorize requests, and what the operator must do. */
  problem?: string;
}

// Refusals no retry will fix: the operator must act. `access-token-still-valid` moves the refresh to
// the token's expiry; anything else (network, a 5xx) is retried with backoff.
const OPERATOR_ACTIONS: Record<string, string> = {
  'refresh-token-expired':
    'the refresh token has expired: ask the storage admin for a new token pair and apply it as the proxy-authz-tokens secret',
  'refresh-token-invalid':
    'the refresh token is not accepted (wrong signing key or corrupted): ask the storage admin for a new token pair and apply it as the proxy-authz-tokens secret',
  'access-token-invalid':
    'the access token is not accepted (wrong signing key or corrupted): ask the storage admin for a new token pair and apply it as the proxy-authz-tokens secret',
  'token-pair-mismatch':
    'the access and refresh tokens belong to different tenants: apply a matching pair as the proxy-authz-tokens secret',
  'wrong-token-kind':
    'the access and refresh files of the proxy-authz-tokens secret are swapped or hold the same token: apply the pair as the storage admin issued it',
  'not-a-tenant-token': 'the proxy-authz-tokens secret holds admin tokens: apply a tenant token pair instead',
  'tenant-unknown': 'the tenant no longer exists: ask the storage admin to recreate it and issue a new token pair',
  'tenant-revoked': 'the tenant has been revoked: ask the storage admin to cancel the revocation (CSMTenant spec.revoke)',
};

/** The server refused an early refresh: how long after expiry to refresh (timer rounding). */
const AFTER_EXPIRY_MS = 100;
/**
 * A refresh at expiry answered "still valid" (the server's clock runs behind ours): retried this often,
 * for at most `STILL_VALID_PAST_EXPIRY_MS` past expiry, after which it is an ordinary failure.
 */
const STILL_VALID_RETRY_MS = 250;
const STILL_VALID_PAST_EXPIRY_MS = 30_000;

interface HeldPair {
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  refreshAt: number;
}

export class TokenHolder implements AccessTokenSource, HeldTokenSource {
  private pair: HeldPair | undefined;
  private generation = 0;
  private problem: string | undefined;
  private loggedProblem: string | undefined;
  private failures = 0;
  private inflight: Promise<void> | undefined;
  private cancelTimer: (() => void) | undefined;
  private files: ReloadingValue<TokenPairFiles> | undefined;
  private stopped = false;
  /** The server refuses refreshes before expiry (Dell's): refresh at expiry, not at `fraction`. */
  private refreshAtExpiry = false;
  /** Requests waiting for the next refresh (or re-read pair) to finish. */
  private waiters = new Set<() => void>();
  private changeListeners: (() => void)[] = [];
  private readonly clock: Clock;
  private readonly fraction: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly marginMs: number;
  private readonly random: () => number;
  private readonly awaitTokenMs: number;

  private constructor(private readonly options: TokenHolderOptions) {
    this.clock = options.clock ?? systemClock;
    this.fraction = options.refreshAtFraction ?? 0.6;
    this.initialBackoffMs = options.initialBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.marginMs = options.expiryMarginMs ?? 500;
    this.random = options.random ?? Math.random;
    this.awaitTokenMs = options.awaitTokenMs ?? 3000;
  }

  /** Reads the token files (failing with a clear error if they are unusable) and starts refreshing. */
  static async start(options: TokenHolderOptions): Promise<TokenHolder> {
    const holder = new TokenHolder(options);
    const source = options.tokens;
    if (source.kind === 'environment') {
      holder.adopt(checkTokenPair(source, { access: 'ACCESS_TOKEN', refresh: 'REFRESH_TOKEN', pair: 'variables' }));
      holder.schedule();
      return holder;
    }
    const files = await watchAndReload(source.dir, {
      load: () => readTokenFiles(source.dir),
      equal: (a, b) => a.accessToken === b.accessToken && a.refreshToken === b.refreshToken,
      logger: options.logger,
      what: 'token files',
      onRejected: (error) =>
        options.logger.warn({ err: { message: (error as Error).message } }, 'token files changed but cannot be used; keeping the current tokens'),
    });
    holder.files = files;
    holder.adopt(files.current());
    files.onChange((next) => holder.consider(next));
    holder.schedule();
    return holder;
  }

  /** The access token to send now, or why there is none. */
  current(): CurrentToken {
    const pair = this.pair;
    if (pair && this.clock.now() < pair.expiresAt - this.marginMs) return { kind: 'token', accessToken: pair.accessToken };
    return {
      kind: 'unavailable',
      reason: this.problem ?? 'the access token has expired and has not been refreshed yet (the authorization proxy is unreachable or refusing)',
    };
  }

  /**
   * Like `current`, but a request that finds no valid token while the next refresh is running or due
   * waits up to `awaitTokenMs` for it. Dell's charts pass ACCESS_TOKEN as a fixed variable, so a
   * container that starts (or restarts days later) holds an expired token until its first refresh:
   * the driver's first calls wait for that refresh instead of failing. A problem only the operator
   * can fix (revoked tenant, expired refresh token) is answered at once.
   */
  async awaitToken(): Promise<CurrentToken> {
    const deadline = this.clock.now() + this.awaitTokenMs;
    for (;;) {
      const now = this.current();
      if (now.kind === 'token' || this.problem || this.stopped || !this.pair) return now;
      // A refresh that ended without a token (a Dell server whose clock runs behind) is retried
      // shortly: keep waiting for the next one until the deadline.
      const remaining = deadline - this.clock.now();
      if (remaining <= 0 || (await this.nextRefreshOrTimeout(remaining)) === 'timeout') return this.current();
    }
  }

  private nextRefreshOrTimeout(delayMs: number): Promise<'refresh' | 'timeout'> {
    return new Promise((resolve) => {
      const finish = (how: 'refresh' | 'timeout') => {
        cancel();
        this.waiters.delete(woken);
        resolve(how);
      };
      const woken = () => finish('refresh');
      const cancel = this.clock.setTimer(() => finish('timeout'), delayMs);
      this.waiters.add(woken);
    });
  }

  /** The access token held now, even if expired (there is always one once started). */
  held(): HeldToken {
    const pair = this.pair!;
    return { accessToken: pair.accessToken, usableUntil: pair.expiresAt - this.marginMs };
  }

  /** Called after each refreshed token and each new pair from the files. */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  /** When the access token held now expires (ms), for the sidecar's /metrics; undefined before the first one. */
  expiresAt(): number | undefined {
    return this.pair?.expiresAt;
  }

  status(): TokenHolderStatus {
    const token = this.current();
    if (token.kind === 'unavailable') return { ready: false, problem: token.reason };
    return this.problem ? { ready: true, problem: this.problem } : { ready: true };
  }

  /** Refreshes now unless a refresh is already running (single flight); resolves when it has finished. */
  refresh(): Promise<void> {
    if (!this.inflight) {
      this.inflight = this.runRefresh().finally(() => {
        this.inflight = undefined;
        this.wakeWaiters();
      });
    }
    return this.inflight;
  }

  /** Re-reads the token files now; the directory watch does the same on every change. */
  async reloadFiles(): Promise<void> {
    await this.files?.reload();
  }

  /** A changed pair in the files replaces the held one and clears any reported problem. */
  private consider(files: TokenPairFiles): void {
    // Same refresh token and no later access token: the secret was not re-issued (our own refreshed
    // access token is newer than the one in the file).
    const held = this.pair;
    if (held && files.refreshToken === held.refreshToken && accessTokenExpiry(files.accessToken) * 1000 <= held.expiresAt) return;
    this.adopt(files);
    this.problem = undefined;
    this.loggedProblem = undefined;
    this.failures = 0;
    this.options.logger.info({ expiresAt: new Date(this.pair!.expiresAt).toISOString() }, 'new token pair loaded from the token files');
    this.schedule();
    this.wakeWaiters();
    this.changed();
  }

  private wakeWaiters(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.files?.close();
    this.wakeWaiters();
  }

  private adopt(files: TokenPairFiles): void {
    this.generation++;
    this.pair = this.heldPair(files.accessToken, files.refreshToken);
  }

  private heldPair(accessToken: string, refreshToken: string): HeldPair {
    const now = this.clock.now();
    const expiresAt = accessTokenExpiry(accessToken) * 1000;
    // The lifetime is measured from when we got the token, not its `iat` (Dell-minted tokens have
    // none, and whole-second `iat`s skew short tokens). Refreshing at 60% of what is left keeps the
    // request inside the server's early-refresh window (the last half of the token's lifetime).
    const refreshAt = this.refreshAtExpiry ? expiresAt + AFTER_EXPIRY_MS : now + (expiresAt - now) * this.fraction;
    return { accessToken, refreshToken, expiresAt, refreshAt };
  }

  private schedule(delayMs?: number): void {
    if (this.stopped || !this.pair) return;
    this.cancelTimer?.();
    const wait = delayMs ?? Math.max(0, this.pair.refreshAt - this.clock.now());
    this.cancelTimer = this.clock.setTimer(() => void this.refresh(), wait);
  }

  private async runRefresh(): Promise<void> {
    const pair = this.pair;
    if (!pair || this.stopped) return;
    const generation = this.generation;
    let outcome: RefreshOutcome;
    try {
      outcome = await this.options.refresher({ accessToken: pair.accessToken, refreshToken: pair.refreshToken });
    } catch (error) {
      outcome = { kind: 'refused', status: 0, message: `the authorization proxy could not be reached: ${(error as Error).message}` };
    }
    // The token files were replaced while this refresh ran: its result is for a pair we no longer hold.
    if (this.stopped || generation !== this.generation) return;

    if (outcome.kind === 'refreshed') {
      try {
        this.pair = this.heldPair(outcome.accessToken, pair.refreshToken);
      } catch (error) {
        return this.retry({ kind: 'refused', status: 200, message: `the refreshed access token is unusable: ${(error as Error).message}` });
      }
      this.failures = 0;
      if (this.problem) this.options.logger.info('token refresh works again');
      this.problem = undefined;
      this.loggedProblem = undefined;
      this.options.logger.debug({ expiresAt: new Date(this.pair.expiresAt).toISOString() }, 'access token refreshed');
      this.schedule();
      this.changed();
      return;
    }
    this.retry(outcome);
  }

  /**
   * The server refused a refresh because the access token is still valid: keep it and refresh when
   * it expires (and, if the server's clock is behind, shortly after). False once that has gone on
   * too long past expiry, so the refusal is then retried and reported like any other.
   */
  private refreshLater(pair: HeldPair): boolean {
    const now = this.clock.now();
    if (now >= pair.expiresAt + STILL_VALID_PAST_EXPIRY_MS) return false;
    if (!this.refreshAtExpiry) {
      this.refreshAtExpiry = true;
      this.options.logger.info({ expiresAt: new Date(pair.expiresAt).toISOString() }, 'the authorization proxy refuses refreshes before expiry; refreshing each access token as it expires');
    }
    pair.refreshAt = pair.expiresAt + AFTER_EXPIRY_MS;
    this.schedule(now < pair.refreshAt ? undefined : STILL_VALID_RETRY_MS);
    return true;
  }

  private retry(outcome: Extract<RefreshOutcome, { kind: 'refused' }>): void {
    if (outcome.reason === 'access-token-still-valid' && this.pair && this.refreshLater(this.pair)) return;
    const action = outcome.reason ? OPERATOR_ACTIONS[outcome.reason] : undefined;
    if (action) {
      this.problem = `token refresh refused (${outcome.reason}): ${action}`;
      // Said once, loudly; repeating it every retry would bury it.
      if (this.loggedProblem !== this.problem) {
        this.loggedProblem = this.problem;
        this.options.logger.error({ reason: outcome.reason, status: outcome.status }, this.problem);
      }
    } else {
      this.options.logger.warn({ status: outcome.status, reason: outcome.reason, detail: outcome.message }, 'token refresh failed; retrying');
    }
    this.failures++;
    const ceiling = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (this.failures - 1));
    // Full jitter over the upper half: sidecars restarted together do not retry in lockstep.
    this.schedule(ceiling / 2 + (ceiling / 2) * this.random());
  }
}

/** Reads `access` and `refresh` from the secret directory (trimmed: `echo` adds a newline). */
export async function readTokenFiles(dir: string): Promise<TokenPairFiles> {
  const read = async (name: string): Promise<string> => {
    const file = path.join(dir, name);
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new Error(`token file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  };
  const pair = { accessToken: await read('access'), refreshToken: await read('refresh') };
  return checkTokenPair(pair, { access: `token file ${path.join(dir, 'access')}`, refresh: `token file ${path.join(dir, 'refresh')}`, pair: 'files of the secret' });
}

/** Trims and checks a pair; `names` say where each token came from (a file, an environment variable). */
export function checkTokenPair(pair: TokenPairFiles, names: { access: string; refresh: string; pair: string }): TokenPairFiles {
  const accessToken = pair.accessToken.trim();
  const refreshToken = pair.refreshToken.trim();
  if (!accessToken) throw new Error(`${names.access} is empty`);
  accessTokenExpiry(accessToken, names.access);
  if (!refreshToken) throw new Error(`${names.refresh} is empty`);
  // Swapped tokens would send the refresh token on every request, which the server refuses: say so here.
  for (const [name, token, expected] of [[names.access, accessToken, 'access'], [names.refresh, refreshToken, 'refresh']] as const) {
    const marked = markedKind(token);
    if (marked !== undefined && marked !== expected) {
      throw new Error(`${name} holds ${marked === 'access' ? 'an access' : 'a refresh'} token: the access and refresh ${names.pair} are swapped`);
    }
  }
  return { accessToken, refreshToken };
}

/** The `token_use` our service puts in its tokens; undefined for Dell-minted tokens and non-JWTs. */
function markedKind(token: string): unknown {
  try {
    return decodeJwt(token).token_use;
  } catch {
    return undefined;
  }
}

/** `exp` of an access token, read without verification (the sidecar holds no key). */
function accessTokenExpiry(token: string, source = 'access token'): number {
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new Error(`${source} is not a JWT`);
  }
  if (typeof claims.exp !== 'number') throw new Error(`${source} has no "exp" claim`);
  return claims.exp;
}
