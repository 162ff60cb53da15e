// The quota check both ledgers make (pure), and how a `report` quota changes it: the charge is made
// anyway and the figures of the denial it would have been travel with the approval.
import type { Quota } from '../resources/types.js';
import type { OverQuota } from './types.js';

/**
 * The denial's figures when `requestedKiB` more does not fit the quota. Compared as
 * "requested > quota - used" so no sum ever exceeds the quota's own magnitude.
 */
export function overQuota(quota: Quota, requestedKiB: number, usedKiB: number): OverQuota | undefined {
  return quota.kind === 'limited' && requestedKiB > quota.kib - usedKiB ? { usedKiB, quotaKiB: quota.kib, requestedKiB } : undefined;
}

/** Whether a charge over this quota is refused (`enforce`, the default) or made and reported. */
export const refusesOver = (quota: Quota): boolean => quota.kind === 'limited' && quota.enforcement !== 'report';
