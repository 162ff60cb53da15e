// Policy phase: evaluate the Dell-compatible package for an operation and read its decision.
// Anything but an explicit allow is a denial (fail closed), 400 `request denied: <messages>` as Dell.
import type { Quota } from '../../resources/types.js';
import type { PolicyEngine } from '../policy/types.js';
import { reject, type Rejection } from '../response/deny.js';
import type { PolicyQuery } from './inputs.js';

/** The quota each volume of the request may use (create: one, snapshot: one per snapshot). */
export interface Authorized {
  quotas: Quota[];
}

/** Dell: any permitted role with quota 0 means unlimited, otherwise the largest permitted quota. */
export function effectiveQuota(quotasKiB: readonly unknown[]): Quota | undefined {
  const numbers = quotasKiB.filter((q): q is number => typeof q === 'number' && Number.isSafeInteger(q) && q >= 0);
  if (numbers.length === 0) return undefined;
  if (numbers.includes(0)) return { kind: 'unlimited' };
  return { kind: 'limited', kib: Math.max(...numbers) };
}

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

function denied(messages: unknown): Rejection {
  const list = Array.isArray(messages) ? messages.filter((m): m is string => typeof m === 'string') : [];
  return reject(400, 'policy-denied', `request denied: ${list.length > 0 ? list.join(',') : 'not allowed by policy'}`);
}

/** Volume create: Dell's `{allow, deny, permitted_roles: {role: quotaKiB}}`. */
export function authorizeCreate(engine: PolicyEngine, query: PolicyQuery): Authorized | Rejection {
  const result = engine.evaluate(query.entrypoint, query.input);
  if (result.allow !== true) return denied(result.deny);
  const quota = effectiveQuota(Object.values(asRecord(result.permitted_roles)));
  return quota ? { quotas: [quota] } : denied(['policy permitted no role with a numeric quota']);
}

/** Snapshot create: `permitted_roles: {<snapshot name>: [{size, storagepool, role}]}`, one quota per snapshot. */
export function authorizeSnapshots(engine: PolicyEngine, query: PolicyQuery, snapshotNames: readonly string[]): Authorized | Rejection {
  const result = engine.evaluate(query.entrypoint, query.input);
  if (result.allow !== true) return denied(result.deny);
  const permitted = asRecord(result.permitted_roles);
  const quotas: Quota[] = [];
  for (const name of snapshotNames) {
    const grants = Array.isArray(permitted[name]) ? (permitted[name] as unknown[]) : [];
    const quota = effectiveQuota(grants.map((grant) => asRecord(grant).size));
    if (!quota) return denied([`no role permits snapshot ${name}`]);
    quotas.push(quota);
  }
  return { quotas };
}

/** Delete, map, unmap, SDC approval: `{response: {allowed, status: {reason}}}`. */
export function authorizeClaims(engine: PolicyEngine, query: PolicyQuery): Authorized | Rejection {
  const response = asRecord(engine.evaluate(query.entrypoint, query.input).response);
  if (response.allowed === true) return { quotas: [] };
  const reason = asRecord(response.status).reason;
  return denied(typeof reason === 'string' ? [reason] : []);
}
