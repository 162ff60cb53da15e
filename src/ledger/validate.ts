// Checks on everything a caller hands the ledger, run before any state is touched, so bad input
// becomes a LedgerInputError (a 400) and never a half-written change. Both backends call these.
import { SYSTEM_TYPES, type Quota } from '../resources/types.js';
import { LedgerInputError, type QuotaScope } from './types.js';

/**
 * Largest size or quota the ledger accepts: 2^53 - 1 KiB. Above it a JavaScript number (and a Lua
 * number inside Redis) can no longer hold every integer, so two different sizes could compare equal.
 */
export const MAX_KIB = Number.MAX_SAFE_INTEGER;

/** Longest volume name accepted; array names are far shorter (PowerFlex 31, PowerMax 64). */
export const MAX_VOLUME_NAME_LENGTH = 1024;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function assertKiB(what: string, value: unknown, minimum: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > MAX_KIB) {
    throw new LedgerInputError(
      `${what} must be an integer number of KiB between ${minimum} and ${MAX_KIB}, got ${describe(value)}`,
    );
  }
}

/** A volume size: a positive integer KiB (zero, negative, fractional, NaN and non-numbers are refused). */
export function assertSizeKiB(sizeKiB: unknown): asserts sizeKiB is number {
  assertKiB('volume size', sizeKiB, 1);
}

export function assertQuota(quota: Quota): void {
  const kind: unknown = quota?.kind;
  if (kind === 'unlimited') return;
  if (kind !== 'limited') throw new LedgerInputError(`quota must be limited or unlimited, got ${describe(kind)}`);
  assertKiB('quota', (quota as { kib: unknown }).kib, 0);
  const enforcement: unknown = (quota as { enforcement?: unknown }).enforcement;
  if (enforcement !== undefined && enforcement !== 'enforce' && enforcement !== 'report') {
    throw new LedgerInputError(`quota enforcement must be enforce or report, got ${describe(enforcement)}`);
  }
}

/**
 * Scope parts become segments of Dell's `quota:<type>:<systemID>:<pool>:<tenant>:data` key, so a
 * colon in one of them would let two different scopes share a key.
 */
export function assertScope(scope: QuotaScope): void {
  if (!SYSTEM_TYPES.includes(scope?.systemType)) {
    throw new LedgerInputError(`system type must be one of ${SYSTEM_TYPES.join(', ')}, got ${describe(scope?.systemType)}`);
  }
  for (const part of ['systemID', 'pool', 'tenant'] as const) {
    const value: unknown = scope[part];
    if (typeof value !== 'string' || value === '' || value.includes(':')) {
      throw new LedgerInputError(`${part} must be a non-empty string without ':', got ${describe(value)}`);
    }
  }
}

export function assertVolumeName(volume: unknown): asserts volume is string {
  if (typeof volume !== 'string' || volume === '' || volume.length > MAX_VOLUME_NAME_LENGTH) {
    throw new LedgerInputError(`volume name must be a non-empty string of at most ${MAX_VOLUME_NAME_LENGTH} characters`);
  }
}

export function assertAgeMs(olderThanMs: unknown): asserts olderThanMs is number {
  if (typeof olderThanMs !== 'number' || !Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new LedgerInputError(`age must be a non-negative number of milliseconds, got ${describe(olderThanMs)}`);
  }
}

/** An expansion below the charged size: the ledger never lowers a charge on a tenant's word (arrays cannot shrink). */
export function shrinkRefused(volume: string, fromKiB: number, toKiB: number): LedgerInputError {
  return new LedgerInputError(`volume "${volume}" cannot shrink from ${fromKiB} KiB to ${toKiB} KiB`);
}
