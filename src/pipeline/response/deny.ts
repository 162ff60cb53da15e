// Denials with a JSON body: `{"error","code"}` (Dell's generic shape) when no array is known yet, or
// the array's native error shape once the target is resolved, so a CSI driver parses it as usual.
import type { ArrayAdapter } from '../../arrays/types.js';
import type { QuotaFigures } from '../observe/observe.js';
import type { Deny } from '../types.js';

/** Why a phase stopped the request: becomes a Deny in the caller's format. */
export interface Rejection {
  status: number;
  message: string;
  /** Short machine-readable reason for logs and metrics, e.g. 'token-expired'. */
  reason: string;
  /** A quota refusal's figures, for the audit trail and `authzctl why-denied`. */
  quota?: QuotaFigures;
}

export const reject = (status: number, reason: string, message: string): Rejection => ({ status, reason, message });

export function isRejection(value: unknown): value is Rejection {
  return typeof value === 'object' && value !== null && 'reason' in value && 'status' in value && 'message' in value;
}

export function jsonDeny(rejection: Rejection, metadata: Record<string, string> = {}): Deny {
  return {
    kind: 'deny',
    status: rejection.status,
    headers: [{ name: 'content-type', value: 'application/json' }],
    body: JSON.stringify({ error: rejection.message, code: rejection.status }),
    reason: rejection.reason,
    metadata,
  };
}

export function arrayDeny(adapter: ArrayAdapter, rejection: Rejection, metadata: Record<string, string> = {}): Deny {
  const { contentType, body } = adapter.errorBody(rejection.status, rejection.message);
  return {
    kind: 'deny',
    status: rejection.status,
    headers: [{ name: 'content-type', value: contentType }],
    body,
    reason: rejection.reason,
    metadata,
  };
}
