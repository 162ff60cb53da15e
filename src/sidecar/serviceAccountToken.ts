// `--identity serviceaccount`: the driver pod's own projected service-account token is the
// credential (CSMTenant spec.identities trusts its cluster's issuer). kubelet rotates the token
// before it expires by writing a new one into the projected volume with an atomic `..data`
// symlink swap; the directory watch sees the swap and the file is read again, so every request
// carries the newest token. No refresh flow and no proxy-authz-tokens Secret. A re-read also runs
// on a timer, as a backstop for file systems whose watch events get lost. Token values are never
// logged.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { watchAndReload, type ReloadingValue } from '../resources/watch.js';
import type { Logger } from '../telemetry/log.js';
import type { AccessTokenSource, CurrentToken, HeldToken, HeldTokenSource, TokenHolderStatus } from './tokenHolder.js';

export interface ServiceAccountTokenOptions {
  /** The projected token, e.g. /var/run/secrets/storage-authz/token. */
  tokenFile: string;
  logger: Logger;
  /** Backstop re-read interval (default 60 s). */
  rereadMs?: number;
  /** A token this close to its expiry is no longer handed out (default 500 ms). */
  expiryMarginMs?: number;
  now?: () => number;
}

interface LoadedToken {
  token: string;
  /** exp, in milliseconds. */
  expiresAt: number;
}

export class ServiceAccountToken implements AccessTokenSource, HeldTokenSource {
  private constructor(
    private readonly file: string,
    private readonly value: ReloadingValue<LoadedToken>,
    private readonly timer: NodeJS.Timeout,
    private readonly marginMs: number,
    private readonly now: () => number,
  ) {}

  /** Reads the token once (rejecting when it is missing or not a JWT with `exp`), then follows kubelet's rotations. */
  static async start(options: ServiceAccountTokenOptions): Promise<ServiceAccountToken> {
    const file = path.resolve(options.tokenFile);
    const { logger } = options;
    const value = await watchAndReload<LoadedToken>(path.dirname(file), {
      load: () => readToken(file),
      equal: (a, b) => a.token === b.token,
      logger,
      what: 'service-account token',
      onRejected: (error) => logger.error({ file, err: (error as Error).message }, 'service-account token not reloaded; the previous one stays in use'),
      debounceMs: 50,
    });
    value.onChange((loaded) => logger.info({ file, expiresAt: new Date(loaded.expiresAt).toISOString() }, 'service-account token rotated'));
    const timer = setInterval(() => void value.reload(), options.rereadMs ?? 60_000);
    timer.unref();
    return new ServiceAccountToken(file, value, timer, options.expiryMarginMs ?? 500, options.now ?? Date.now);
  }

  current(): CurrentToken {
    const { token, expiresAt } = this.value.current();
    if (expiresAt - this.marginMs <= this.now()) {
      return { kind: 'unavailable', reason: `the service-account token in ${this.file} expired at ${new Date(expiresAt).toISOString()} and kubelet has not rotated it` };
    }
    return { kind: 'token', accessToken: token };
  }

  /** The token in the file, even if expired. */
  held(): HeldToken {
    const { token, expiresAt } = this.value.current();
    return { accessToken: token, usableUntil: expiresAt - this.marginMs };
  }

  /** Called after each rotation kubelet made (a changed token read from the file). */
  onChange(listener: () => void): void {
    this.value.onChange(() => listener());
  }

  /** When the token in the file expires (ms), for the sidecar's /metrics. */
  expiresAt(): number {
    return this.value.current().expiresAt;
  }

  /** Nothing is on its way: kubelet rotates the file well before expiry, so the answer is now. */
  async awaitToken(): Promise<CurrentToken> {
    return this.current();
  }

  status(): TokenHolderStatus {
    const current = this.current();
    return current.kind === 'token' ? { ready: true } : { ready: false, problem: current.reason };
  }

  /** Reads the file again now (tests; the watch and the timer do this on their own). */
  reload(): Promise<boolean> {
    return this.value.reload();
  }

  stop(): void {
    clearInterval(this.timer);
    this.value.close();
  }
}

async function readToken(file: string): Promise<LoadedToken> {
  let token: string;
  try {
    token = (await readFile(file, 'utf8')).trim();
  } catch (error) {
    throw new Error(`service-account token ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (is the projected volume mounted?)`, { cause: error });
  }
  let exp: unknown;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    throw new Error(`service-account token ${file}: not a JWT`);
  }
  if (typeof exp !== 'number') throw new Error(`service-account token ${file}: has no exp claim`);
  return { token, expiresAt: exp * 1000 };
}
