// Policy phase: evaluate the Dell-compatible package for an operation and read its decision with the
// policy module's strict readers (a malformed document throws: the Check answers 503, never allow).
// A denial is 400 `request denied: <messages joined by ",">`, as Dell answers. In `report` mode
// (enforcement.ts) a create denied only for its size is let through: the policy is asked the same
// request at size 0, and if that is allowed, the role's quota is what the charge is held to.
import type { Enforcement, Quota } from '../../resources/types.js';
import { effectiveQuota, readResponseDecision, readSnapshotCreateDecision, readVolumeCreateDecision } from '../policy/decisions.js';
import type { PolicyEngine } from '../policy/types.js';
import { isRejection, reject, type Rejection } from '../response/deny.js';
import { applied } from './enforcement.js';
import { atNoSize, type PolicyQuery } from './inputs.js';

/** The quota each volume of the request is held to (create: one, snapshot: one per snapshot). */
export interface Authorized {
  quotas: Quota[];
  /** Report mode: the refusal `enforce` would have answered, let through. */
  wouldDeny?: Rejection;
}

const denied = (reasons: readonly string[]): Rejection =>
  reject(400, 'policy-denied', `request denied: ${reasons.length > 0 ? reasons.join(',') : 'not allowed by policy'}`);

/**
 * Report mode: a refusal the same request at size 0 would not get was about size alone (a role
 * grants the pool, its quota is too small): `decide` at size 0, with the refusal as "would deny".
 * Any other refusal (no role on the pool, an invalid size or quota, a shrink) stands.
 */
function reportOnly(refusal: Rejection, query: PolicyQuery, enforcement: Enforcement, decide: (query: PolicyQuery) => Authorized | Rejection): Authorized | Rejection {
  const sizeless = enforcement === 'report' ? atNoSize(query) : undefined;
  if (!sizeless) return refusal;
  const fitting = decide(sizeless);
  return isRejection(fitting) ? refusal : { ...fitting, wouldDeny: refusal };
}

export function authorizeCreate(engine: PolicyEngine, query: PolicyQuery, enforcement: Enforcement = 'enforce'): Authorized | Rejection {
  const decide = (asked: PolicyQuery): Authorized | Rejection => {
    const decision = readVolumeCreateDecision(engine.evaluate(asked.entrypoint, asked.input));
    return decision.allowed ? { quotas: [applied(effectiveQuota(decision.permittedRoles), enforcement)] } : denied(decision.reasons);
  };
  const decided = decide(query);
  return isRejection(decided) ? reportOnly(decided, query, enforcement, decide) : decided;
}

export function authorizeSnapshots(engine: PolicyEngine, query: PolicyQuery, snapshotNames: readonly string[], enforcement: Enforcement = 'enforce'): Authorized | Rejection {
  const decide = (asked: PolicyQuery): Authorized | Rejection => {
    const decision = readSnapshotCreateDecision(engine.evaluate(asked.entrypoint, asked.input));
    if (!decision.allowed) return denied(decision.reasons);
    const quotas: Quota[] = [];
    for (const name of snapshotNames) {
      const roles = decision.permittedRoles[name];
      if (!roles || Object.keys(roles).length === 0) return denied([`no role permits snapshot ${name}`]);
      quotas.push(applied(effectiveQuota(roles), enforcement));
    }
    return { quotas };
  };
  const decided = decide(query);
  return isRejection(decided) ? reportOnly(decided, query, enforcement, decide) : decided;
}

/** Delete, map, unmap, SDC approval: Dell's `{response: {allowed, status: {reason}}}`. */
export function authorizeClaims(engine: PolicyEngine, query: PolicyQuery): Authorized | Rejection {
  const decision = readResponseDecision(engine.evaluate(query.entrypoint, query.input));
  return decision.allowed ? { quotas: [] } : denied(decision.reason ? [decision.reason] : []);
}
