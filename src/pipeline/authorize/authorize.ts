// Policy phase: evaluate the Dell-compatible package for an operation and read its decision with the
// policy module's strict readers (a malformed document throws: the Check answers 503, never allow).
// A denial is 400 `request denied: <messages joined by ",">`, as Dell answers.
import type { Quota } from '../../resources/types.js';
import { effectiveQuota, readResponseDecision, readSnapshotCreateDecision, readVolumeCreateDecision } from '../policy/decisions.js';
import type { PolicyEngine } from '../policy/types.js';
import { reject, type Rejection } from '../response/deny.js';
import type { PolicyQuery } from './inputs.js';

/** The quota each volume of the request is held to (create: one, snapshot: one per snapshot). */
export interface Authorized {
  quotas: Quota[];
}

const denied = (reasons: readonly string[]): Rejection =>
  reject(400, 'policy-denied', `request denied: ${reasons.length > 0 ? reasons.join(',') : 'not allowed by policy'}`);

export function authorizeCreate(engine: PolicyEngine, query: PolicyQuery): Authorized | Rejection {
  const decision = readVolumeCreateDecision(engine.evaluate(query.entrypoint, query.input));
  return decision.allowed ? { quotas: [effectiveQuota(decision.permittedRoles)] } : denied(decision.reasons);
}

export function authorizeSnapshots(engine: PolicyEngine, query: PolicyQuery, snapshotNames: readonly string[]): Authorized | Rejection {
  const decision = readSnapshotCreateDecision(engine.evaluate(query.entrypoint, query.input));
  if (!decision.allowed) return denied(decision.reasons);
  const quotas: Quota[] = [];
  for (const name of snapshotNames) {
    const roles = decision.permittedRoles[name];
    if (!roles || Object.keys(roles).length === 0) return denied([`no role permits snapshot ${name}`]);
    quotas.push(effectiveQuota(roles));
  }
  return { quotas };
}

/** Delete, map, unmap, SDC approval: Dell's `{response: {allowed, status: {reason}}}`. */
export function authorizeClaims(engine: PolicyEngine, query: PolicyQuery): Authorized | Rejection {
  const decision = readResponseDecision(engine.evaluate(query.entrypoint, query.input));
  return decision.allowed ? { quotas: [] } : denied(decision.reason ? [decision.reason] : []);
}
