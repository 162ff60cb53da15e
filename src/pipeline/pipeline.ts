// The decision pipeline (DESIGN.md §2): target → identity → operation → enrich → policy → ledger →
// response. Each phase returns its result or a Rejection; the first Rejection becomes the Deny,
// in the array's native error shape once the array type is known. What enrich, policy and ledger do
// for an operation is its entry in the operation table (operations.ts).
import type { AdapterRegistry } from '../arrays/registry.js';
import type { ArrayAdapter } from '../arrays/types.js';
import type { Ledger } from '../ledger/types.js';
import { storageKey, type ArrayCredentials, type ResourceSource, type StorageSystem } from '../resources/types.js';
import { silentLogger, type Logger } from '../telemetry/log.js';
import { liveClaims } from './authorize/inputs.js';
import { enrich } from './enrich/enrich.js';
import { METADATA } from './metadata.js';
import { describeSubject, NO_OBSERVER, type DecisionFacts, type DecisionObserver, type Phase } from './observe/observe.js';
import { identify, type ServiceAccountVerifying, type TokenVerifying } from './identity/identity.js';
import { applyLedger, type LedgerHold } from './ledger/ledger.js';
import { classifyRequest } from './operation/operation.js';
import { entryOf, type OperationContext } from './operations.js';
import type { PolicyEngine } from './policy/types.js';
import { allowDecision } from './response/allow.js';
import { arrayDeny, isRejection, jsonDeny, reject, type Rejection } from './response/deny.js';
import { findSystem, resolveArray } from './target/target.js';
import { LOCAL_ANSWER, type Decide, type Decision, type HeaderSet, type RequestView } from './types.js';

export interface PipelineDeps {
  verifier: TokenVerifying;
  /** Service-account tokens of trusted tenant clusters; without it only Dell tokens are accepted. */
  serviceAccounts?: ServiceAccountVerifying;
  resources: ResourceSource;
  adapters: AdapterRegistry;
  policy: PolicyEngine;
  ledger: Ledger;
  logger?: Logger;
  /** Metrics and the audit trail: time per phase, each decision with its facts. */
  observer?: DecisionObserver;
}

/** `gaveUp`: told, with the answer Envoy got, when Envoy stopped waiting (check/server.ts). */
export function createDecider(deps: PipelineDeps): Decide {
  const observer = deps.observer ?? NO_OBSERVER;
  const decideOne = decider(deps, observer);
  return async (request, gaveUp) => {
    const facts: DecisionFacts = { startedAt: performance.now(), phase: 'target', phases: [] };
    // A decision Envoy gave up on is observed as what Envoy answered (the 503), in the phase it was
    // stuck in, when it gives up; whatever the pipeline decides later was never seen by anyone.
    let observed = false;
    let decided = false;
    gaveUp?.onGiveUp((answer) => {
      if (decided) return;
      observed = true;
      facts.timedOut = true;
      observer.decided(request, answer, facts);
    });
    const decision = await decideOne(request, facts);
    decided = true;
    if (!observed) observer.decided(request, decision, facts);
    return decision;
  };
}

function decider(deps: PipelineDeps, observer: DecisionObserver): (request: RequestView, facts: DecisionFacts) => Promise<Decision> {
  const logger = deps.logger ?? silentLogger;
  return async (request, facts) => {
    let phaseStarted = facts.startedAt;
    /** The current phase is over: its time is recorded and `next` begins. */
    const passed = (next: Phase) => {
      const now = performance.now();
      observer.phase(facts.phase, (now - phaseStarted) / 1000);
      facts.phases.push({ phase: facts.phase, startedAt: phaseStarted, endedAt: now });
      phaseStarted = now;
      facts.phase = next;
    };
    const target = resolveArray(request.headers.forwarded, deps.adapters);
    if (isRejection(target)) {
      passed('target');
      return jsonDeny(target);
    }
    const { adapter } = target;
    facts.arrayType = adapter.type;
    const deny = (rejection: Rejection, metadata: Record<string, string> = {}) => {
      if (rejection.quota) facts.quota = rejection.quota;
      passed(facts.phase);
      return arrayDeny(adapter, rejection, metadata);
    };
    passed('identity');

    const resources = deps.resources.current();
    const identity = await identify(request.headers.authorization, deps.verifier, resources, deps.serviceAccounts);
    if (isRejection(identity)) return deny(identity);
    const { tenant } = identity;
    facts.tenant = tenant.name;
    const who = { [METADATA.tenant]: tenant.name };
    passed('operation');

    const system = findSystem(resources, target);
    if (isRejection(system)) return deny(system, who);
    facts.systemID = system.systemID;
    const classified = classifyRequest(adapter, request, system.systemID);
    if (isRejection(classified)) return deny(classified, who);
    const { operation } = classified;
    facts.operation = operation.kind;
    const metadata = { ...who, [METADATA.operation]: operation.kind, [METADATA.system]: storageKey(system.type, system.systemID) };

    if (operation.kind === 'login') {
      const answer = adapter.localAnswer(operation, classified.path);
      if (!answer) return deny(reject(502, 'no-local-answer', 'login is not supported for this array type'), metadata);
      return { kind: 'deny', status: answer.status, headers: answer.headers, body: answer.body, reason: LOCAL_ANSWER, metadata };
    }

    let credentials: ArrayCredentials;
    try {
      credentials = await deps.resources.credentials(system);
    } catch (error) {
      logger.error({ err: error, storage: system.name }, 'array credentials unavailable');
      return deny(reject(502, 'credentials-unavailable', `credentials of storage "${system.name}" are unavailable`), metadata);
    }
    const found = entryOf(operation);
    if (!found) return deny(reject(403, 'unknown-mutation', `request denied: ${operation.kind} is not a recognised operation`), metadata);
    const { entry } = found;
    const context: OperationContext = {
      adapter, system, credentials, tenant, systems: identity.systems, roles: identity.roles, claims: liveClaims(identity.claims, tenant), policy: deps.policy, ledger: deps.ledger,
    };
    passed('enrich');
    const arrayFacts = await enrich(() => entry.enrich(context, found.operation));
    describeSubject(facts, found.operation, isRejection(arrayFacts) ? undefined : arrayFacts);
    if (isRejection(arrayFacts)) return deny(arrayFacts, metadata);
    passed('authorize');
    const authorized = entry.policy(context, found.operation, arrayFacts);
    if (isRejection(authorized)) return deny(authorized, metadata);
    passed('credentials');
    // The array's credentials come before anything is held, so nothing can fail once the ledger holds capacity.
    const credentialHeaders = await arrayAuthorization(adapter, system, credentials);
    if (isRejection(credentialHeaders)) return deny(credentialHeaders, metadata);
    passed('ledger');

    const held = await applyLedger(() => entry.ledger(context, found.operation, arrayFacts, authorized.quotas));
    if (isRejection(held)) return deny(held, metadata);
    // Report mode: what `enforce` would have answered (the policy refuses first), recorded, not answered.
    // The ledger's figures (quota, used, requested) go with it either way.
    const wouldDeny = authorized.wouldDeny ?? held.wouldDeny;
    if (wouldDeny) facts.wouldDeny = { ...wouldDeny, ...((wouldDeny.quota ?? held.wouldDeny?.quota) && { quota: wouldDeny.quota ?? held.wouldDeny?.quota }) };
    passed('response');
    const allow = allowDecision({
      request,
      system,
      classified,
      credentialHeaders,
      forwardedHeaders: adapter.forwardedHeaders,
      metadata: { ...metadata, ...holdMetadata(held) },
    });
    passed('response');
    return allow;
  };
}

/** The array's own credential headers (e.g. a PowerFlex session token); an array that refuses is a 502. */
async function arrayAuthorization(adapter: ArrayAdapter, system: StorageSystem, credentials: ArrayCredentials): Promise<readonly HeaderSet[] | Rejection> {
  try {
    return await adapter.authorize(system, credentials);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return reject(502, 'array-login-failed', `cannot authenticate to storage "${system.name}": ${message}`);
  }
}

function holdMetadata(held: LedgerHold): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (held.holds.length > 0) metadata[METADATA.holds] = held.holds.join(',');
  if (held.hints.length > 0) metadata[METADATA.hints] = held.hints.join(',');
  return metadata;
}
