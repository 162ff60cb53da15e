// Which version of each watched object is in force, and the Ready condition each object gets. Pure.
//
// Unlike a directory (all or nothing), objects in the API server change one at a time and each has
// its own status, so acceptance is per object: a version that fails its schema or the cross checks
// is not used, and the object's last accepted version (if any) stays in force. An object that never
// had a good version, or whose good version no longer fits (its role or Storage was deleted), is left
// out until it is fixed — fail closed: a tenant left out gets no access.
import { formatResourceError, type ResourceError } from '../errors.js';
import { validateObject, type ResourceKind } from '../objects.js';
import { buildSnapshot, type SourcedObject } from '../snapshot.js';
import type { ResourceSnapshot } from '../types.js';

/** A CSMTenant/CSMRole/Storage as the API server returned it. */
export interface ObservedObject {
  kind: ResourceKind;
  name: string;
  /** metadata.generation: which spec a condition speaks about. */
  generation: number;
  document: Record<string, unknown>;
}

export interface Verdict {
  ready: boolean;
  /** Invalid: fails its schema; Unresolved: a reference does not resolve; CredentialsMissing: its Secret is unusable. */
  reason: 'Accepted' | 'Invalid' | 'Unresolved' | 'CredentialsMissing';
  message: string;
  observedGeneration: number;
}

export interface Acceptance {
  /** kind/name → the version in force (what `lastAccepted` is next time). */
  accepted: Map<string, SourcedObject>;
  snapshot: ResourceSnapshot;
  verdicts: Map<string, Verdict>;
}

export const objectKey = (kind: string, name: string): string => `${kind}/${name}`;

/**
 * `observed` is every object now in the API server; `lastAccepted` what was in force before.
 * `where` names the source in messages (e.g. `namespace authz`).
 */
export function accept(observed: readonly ObservedObject[], lastAccepted: ReadonlyMap<string, SourcedObject>, generation: number, where: string): Acceptance {
  const verdicts = new Map<string, Verdict>();
  const candidates = new Map<string, SourcedObject>();
  const generations = new Map<string, number>();
  const kept = (key: string) => (lastAccepted.has(key) ? ' The last accepted version stays in force.' : '');

  for (const object of observed) {
    const key = objectKey(object.kind, object.name);
    generations.set(key, object.generation);
    const result = validateObject(object.document);
    if (result.ok) {
      candidates.set(key, { file: where, object: result.value });
      continue;
    }
    const previous = lastAccepted.get(key);
    if (previous) candidates.set(key, previous);
    const problems = result.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
    verdicts.set(key, { ready: false, reason: 'Invalid', message: `${problems}.${kept(key)}`, observedGeneration: object.generation });
  }

  // Cross checks: revert an erring object to its last accepted version, or leave it out, until the set holds.
  // Each round reverts an object (once at most) or removes one, so 2n+1 rounds always end.
  const rounds = 2 * candidates.size + 1;
  for (let round = 0; round < rounds; round++) {
    const build = buildSnapshot([...candidates.values()], generation);
    if (build.ok) {
      for (const [key, observedGeneration] of generations) {
        if (!verdicts.has(key)) verdicts.set(key, { ready: true, reason: 'Accepted', message: 'in force', observedGeneration });
      }
      return { accepted: candidates, snapshot: build.snapshot, verdicts };
    }
    for (const error of build.errors) {
      const key = objectKey(error.kind ?? '', error.name ?? '');
      const candidate = candidates.get(key);
      if (!candidate) continue;
      const previous = lastAccepted.get(key);
      if (previous && previous !== candidate) candidates.set(key, previous);
      else candidates.delete(key);
      const message = `${crossCheckMessage(error)}.${previous && previous !== candidate ? ' The last accepted version stays in force.' : ' Not in force until this is fixed.'}`;
      const existing = verdicts.get(key);
      verdicts.set(key, { ready: false, reason: existing?.reason === 'Invalid' ? 'Invalid' : 'Unresolved', message: existing ? `${existing.message} ${message}` : message, observedGeneration: generations.get(key) ?? 0 });
    }
  }
  // Unreachable: the empty set is valid.
  throw new Error(`resources in ${where} could not be made consistent`);
}

function crossCheckMessage(error: ResourceError): string {
  return error.path ? `${error.path}: ${error.message}` : formatResourceError(error);
}
