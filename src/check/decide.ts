// A decision within its budget, whatever transport asked for it (gRPC Check or ext_authz's
// http_service): an error or a late answer is a 503 deny, never an allow.
import { LOCAL_ANSWER, type Decide, type Decision, type GiveUp, type RequestView } from '../pipeline/types.js';
import { jsonDeny, reject } from '../pipeline/response/deny.js';
import type { Logger } from '../telemetry/log.js';

export interface DecisionBudget {
  /** Bound for one decision when the caller gave no deadline (ms); Envoy always sends its `timeout`. */
  maxDecisionMs?: number;
  /** Time kept back from the caller's deadline to encode and send the answer (ms). */
  deadlineMarginMs?: number;
}

export const failedClosed = (message: string, reason: string): Decision => jsonDeny(reject(503, reason, message));

/** Milliseconds left before `deadline` (epoch ms; Infinity for none), less the margin to send the answer. */
export function budgetMs(deadline: number, budget: DecisionBudget): number {
  if (!Number.isFinite(deadline)) return budget.maxDecisionMs ?? 1000;
  return Math.max(0, deadline - Date.now() - (budget.deadlineMarginMs ?? 20));
}

/** The decision, or a 503 deny when it throws or outlives `budget` ms. */
export function decideWithinBudget(decide: Decide, request: RequestView, budget: number, logger: Logger): Promise<Decision> {
  // One timer and one listener slot per call, no Promise.race: this runs for every Check.
  return new Promise<Decision>((resolve) => {
    let listener: ((answer: Decision) => void) | undefined;
    const gaveUp: GiveUp = { onGiveUp: (l) => void (listener = l) };
    const timer = setTimeout(() => {
      const answer = failedClosed('authorization decision timed out', 'decision-timeout');
      listener?.(answer);
      resolve(answer);
    }, budget);
    const failed = (error: unknown) => {
      clearTimeout(timer);
      logger.error({ err: error, requestId: request.id }, 'decision failed; denying');
      resolve(failedClosed('authorization service error', 'decision-error'));
    };
    try {
      decide(request, gaveUp).then((decision) => {
        clearTimeout(timer);
        resolve(decision);
      }, failed);
    } catch (error) {
      failed(error);
    }
  });
}

/** A deny is logged (id, status, reason; never a header or the body); an allow is the access log's. */
export function logDenial(logger: Logger, request: RequestView, decision: Decision): void {
  if (decision.kind !== 'deny') return;
  logger.info({ requestId: request.id, status: decision.status, reason: decision.reason }, decision.reason === LOCAL_ANSWER ? 'answered locally' : 'denied');
}
