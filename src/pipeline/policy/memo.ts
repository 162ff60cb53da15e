// Policy results remembered per (roles data, the input the package reads). The create family's
// answer depends only on the tenant's live roles, the system, the pool and the requested size —
// not on the volume's name or the token's times — and a fleet asks the same few questions over and
// over, so the wasm evaluation and its JSON round trip run once per distinct question.
//
// Correct by construction: a memoised package is evaluated on its input *projected* to the fields
// listed here, and the memo key is that projected input, so the key is exactly what the Rego sees.
// memo.test.ts checks every `input.` reference in those packages' Rego is in the list.
import type { Role } from '../../resources/types.js';
import type { PolicyEngine, PolicyEntrypoint } from './types.js';

/** A path into the input, e.g. ['claims', 'roles']. */
export type InputPath = readonly string[];

const CREATE_FIELDS: readonly InputPath[] = [['claims', 'roles'], ['request', 'volumeSizeInKb'], ['storagepool'], ['storagesystemid'], ['systemtype']];

/** The packages whose decision is remembered, with every input field each one (and karavi.common) reads. */
export const MEMOISED_INPUTS: Partial<Record<PolicyEntrypoint, readonly InputPath[]>> = {
  'karavi/volumes/create': CREATE_FIELDS,
  'karavi/volumes/powermax/create': CREATE_FIELDS,
  'karavi/volumes/powerstore/create': [['claims', 'roles'], ['request', 'size'], ['storagesystemid'], ['systemtype']],
};

/** Distinct questions remembered; past it the memo starts again (a flood of sizes cannot grow it). */
const DEFAULT_CAPACITY = 4096;

/** `input` with only the fields at `paths` (absent ones stay absent, so the Rego sees no difference). */
export function projectInput(input: unknown, paths: readonly InputPath[]): Record<string, unknown> {
  const projected: Record<string, unknown> = {};
  for (const path of paths) {
    let from: unknown = input;
    let to = projected;
    for (let i = 0; i < path.length; i += 1) {
      if (typeof from !== 'object' || from === null || Array.isArray(from)) break;
      const key = path[i]!;
      if (!Object.hasOwn(from, key)) break;
      const value = (from as Record<string, unknown>)[key];
      if (i === path.length - 1) {
        to[key] = value;
        break;
      }
      to = (to[key] ??= {}) as Record<string, unknown>;
      from = value;
    }
  }
  return projected;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export class MemoisedPolicy implements PolicyEngine {
  private readonly memo = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly engine: PolicyEngine,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {}

  /** Distinct questions remembered now (for tests). */
  get size(): number {
    return this.memo.size;
  }

  setRoles(roles: Iterable<Role>): void {
    // Forgotten before the new data goes in: if loading it fails, the engine refuses (fail closed)
    // and no answer made with the old roles is served from here.
    this.memo.clear();
    this.engine.setRoles(roles);
  }

  /** The package's document; a remembered one is frozen (readers only read it). */
  evaluate(entrypoint: PolicyEntrypoint, input: unknown): Record<string, unknown> {
    const fields = MEMOISED_INPUTS[entrypoint];
    if (!fields) return this.engine.evaluate(entrypoint, input);
    const projected = projectInput(input, fields);
    const key = `${entrypoint}\0${JSON.stringify(projected)}`;
    const known = this.memo.get(key);
    if (known) return known;
    // An evaluation that throws is not remembered: the next request asks the engine again.
    const document = deepFreeze(this.engine.evaluate(entrypoint, projected));
    if (this.memo.size >= this.capacity) this.memo.clear();
    this.memo.set(key, document);
    return document;
  }
}
