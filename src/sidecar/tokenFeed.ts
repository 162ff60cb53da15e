// How the access token reaches the sidecar's Envoy without a Check per request. The token is a
// generic secret in a file SDS resource that Envoy's credential_injector reads; each new token is
// written beside it and renamed into the watched directory (Envoy reloads file SDS on a move), as
// certificates.ts does for the serving certificate. A file cannot wait for a refresh on its way, so
// the sidecar's ext_authz Check (decide.ts), which can, is switched on through Envoy runtime (an RTDS
// layer from a second watched file) only while the token Envoy injects is about to expire or has
// expired: Dell's proxy-server refreshes only after expiry, and a token that is expired because the
// refresh failed must turn into the Check's 503 with the reason. The Check is switched off again only
// once Envoy reports (the secret's `version_text`) that it injects the new token.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../cli/atomicWrite.js';
import type { Logger } from '../telemetry/log.js';
import { ACCESS_TOKEN_SECRET, TOKEN_CHECK_RUNTIME_KEY, TOKEN_PATH_RUNTIME_LAYER } from './envoyConfig.js';
import { systemClock, type Clock, type HeldToken, type HeldTokenSource } from './tokenHolder.js';

export interface TokenFeedOptions {
  source: HeldTokenSource;
  /** Private directory (the sidecar's work dir); the two files live in subdirectories Envoy watches. */
  dir: string;
  logger: Logger;
  /** The secret version Envoy has applied (its SDS `version_text`); undefined while Envoy does not answer. */
  appliedVersion: () => Promise<number | undefined>;
  clock?: Clock;
  /**
   * The Check takes over this long before the injected token stops being usable (default 500 ms), so
   * Envoy has re-read the runtime file (milliseconds) before the token may no longer be sent.
   */
  checkLeadMs?: number;
  /** How often Envoy is asked whether it has applied a new secret (default 20 ms). */
  confirmPollMs?: number;
}

export interface TokenFeed {
  /** The file SDS resource with the token, and the directory Envoy watches for it. */
  tokenSdsPath: string;
  tokenDir: string;
  /** The RTDS resource that switches the Check, and its watched directory. */
  runtimePath: string;
  runtimeDir: string;
  /** Whether the Check is switched on (the last runtime written). */
  checkEnabled(): boolean;
  stop(): void;
}

const DEFAULT_CHECK_LEAD_MS = 500;
const DEFAULT_CONFIRM_POLL_MS = 20;
const RETRY_WRITE_MS = 1000;
const CONFIRM_WARN_AFTER_MS = 5000;

/** The file SDS resource the credential_injector reads; `version` is what Envoy reports having applied. */
export function renderAccessTokenSds(accessToken: string, version: number): string {
  return JSON.stringify({
    version_info: String(version),
    resources: [
      {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
        name: ACCESS_TOKEN_SECRET,
        generic_secret: { secret: { inline_string: accessToken } },
      },
    ],
  });
}

/** The RTDS resource: the Check on every request (100 %) or on none. */
export function renderTokenPathRuntime(checkEnabled: boolean): string {
  return JSON.stringify({
    resources: [
      {
        '@type': 'type.googleapis.com/envoy.service.runtime.v3.Runtime',
        name: TOKEN_PATH_RUNTIME_LAYER,
        layer: { [TOKEN_CHECK_RUNTIME_KEY]: checkEnabled ? 100 : 0 },
      },
    ],
  });
}

/** Writes the held token and the Check switch (before Envoy starts), then follows the source. */
export async function startTokenFeed(options: TokenFeedOptions): Promise<TokenFeed> {
  const { source, logger } = options;
  const clock = options.clock ?? systemClock;
  const leadMs = options.checkLeadMs ?? DEFAULT_CHECK_LEAD_MS;
  const pollMs = options.confirmPollMs ?? DEFAULT_CONFIRM_POLL_MS;
  const tokenDir = path.join(options.dir, 'token');
  const runtimeDir = path.join(options.dir, 'token-path');
  const tokenSdsPath = path.join(tokenDir, 'access-token.sds.json');
  const runtimePath = path.join(runtimeDir, 'token-path.rtds.json');
  await mkdir(tokenDir, { recursive: true, mode: 0o700 });
  await mkdir(runtimeDir, { recursive: true, mode: 0o700 });

  let stopped = false;
  let version = 0;
  /** The token Envoy injects: written before it started, or confirmed applied since. */
  let applied: HeldToken = source.held();
  let checkOn: boolean | undefined;
  let cancelFlip: (() => void) | undefined;
  let runtimeWrites = Promise.resolve();
  let dirty = false;
  let publishing: Promise<void> | undefined;

  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(resolve, ms));

  const writeSecret = async (token: HeldToken): Promise<number> => {
    const next = version + 1;
    await writeFileAtomic(tokenSdsPath, renderAccessTokenSds(token.accessToken, next), 0o600);
    version = next;
    return next;
  };

  // Decided synchronously, written in order: the last decision is what ends up on disk.
  const setCheck = (on: boolean): Promise<void> => {
    if (on === checkOn) return runtimeWrites;
    checkOn = on;
    logger.debug({ check: on }, on ? 'the injected access token is about to expire: the sidecar Check answers requests' : 'Envoy injects the current access token; the sidecar Check is off');
    runtimeWrites = runtimeWrites
      .then(() => writeFileAtomic(runtimePath, renderTokenPathRuntime(on), 0o600))
      .catch((error: unknown) => logger.error({ err: { message: (error as Error).message }, check: on }, 'cannot write the sidecar Envoy runtime file'));
    return runtimeWrites;
  };

  /** Check off while the applied token is usable for longer than the lead; a timer switches it on then. */
  const followApplied = (): Promise<void> => {
    cancelFlip?.();
    cancelFlip = undefined;
    const flipAt = applied.usableUntil - leadMs;
    const wait = flipAt - clock.now();
    if (wait > 0 && !stopped) cancelFlip = clock.setTimer(() => void followApplied(), wait);
    return setCheck(wait <= 0);
  };

  const confirmed = async (wanted: number): Promise<boolean> => {
    const since = clock.now();
    let warned = false;
    for (;;) {
      if (stopped) return false;
      if (((await options.appliedVersion()) ?? 0) >= wanted) return true;
      if (!warned && clock.now() - since > CONFIRM_WARN_AFTER_MS) {
        warned = true;
        logger.warn({ version: wanted }, 'the sidecar Envoy has not loaded the new access token yet; the sidecar Check keeps answering once the old one expires');
      }
      await sleep(pollMs);
    }
  };

  const publish = async (): Promise<void> => {
    while (dirty && !stopped) {
      dirty = false;
      const token = source.held();
      if (token.accessToken !== applied.accessToken) {
        let written: number;
        try {
          written = await writeSecret(token);
        } catch (error) {
          logger.error({ err: { message: (error as Error).message } }, 'cannot write the access token for the sidecar Envoy; retrying');
          dirty = true;
          await sleep(RETRY_WRITE_MS);
          continue;
        }
        if (!(await confirmed(written))) return;
      }
      applied = token;
      await followApplied();
    }
  };

  const changed = () => {
    dirty = true;
    publishing ??= publish().finally(() => {
      publishing = undefined;
      // A change that came as the loop ended.
      if (dirty && !stopped) changed();
    });
  };

  await writeSecret(applied);
  await followApplied();
  source.onChange(changed);

  return {
    tokenSdsPath,
    tokenDir,
    runtimePath,
    runtimeDir,
    checkEnabled: () => checkOn === true,
    stop() {
      stopped = true;
      cancelFlip?.();
    },
  };
}
