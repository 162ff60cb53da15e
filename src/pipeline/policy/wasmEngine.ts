// The policy engine: the committed Rego→wasm bundle (policies/build/policy.wasm) run in-process with
// @open-policy-agent/opa-wasm. Roles go in as data when configuration changes, never per request.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import type { Role } from '../../resources/types.js';
import { POLICY_ENTRYPOINTS, type PolicyEngine, type PolicyEntrypoint } from './types.js';
import { policyRolesData, ROLES_DATA_PATH, type DellRoles } from './rolesData.js';

const BUNDLE = path.join('policies', 'build', 'policy.wasm');

/**
 * Linear memory bounds. Evaluation resets the heap each call, so memory tracks the largest input +
 * roles data; the maximum turns runaway growth (npm-opa-wasm#143) into an error instead of an
 * unbounded process. 64 MiB holds far more than Envoy's bounded request body plus any roles set.
 */
export const POLICY_MEMORY: WebAssembly.MemoryDescriptor = { initial: 8, maximum: 1024 };

/** policies/build/policy.wasm of the checkout or package this module runs from (src/ or dist/src/). */
export function defaultPolicyWasmPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, BUNDLE);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no ${BUNDLE} above ${fileURLToPath(import.meta.url)}: run npm run policies:build`);
    dir = parent;
  }
}

export class WasmPolicyEngine implements PolicyEngine {
  /** Set when setData failed part-way: the data in linear memory is then unusable until the next good setRoles. */
  private dataError: Error | undefined;

  private constructor(private readonly policy: LoadedPolicy) {}

  /** Loads the bundle and checks it has every entrypoint the service evaluates. Starts with no roles. */
  static async load(
    wasmPath: string = defaultPolicyWasmPath(),
    memory: WebAssembly.MemoryDescriptor = POLICY_MEMORY,
  ): Promise<WasmPolicyEngine> {
    let policy: LoadedPolicy;
    try {
      policy = await loadPolicy(await readFile(wasmPath), memory);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new Error(`policy bundle ${wasmPath} could not be loaded: ${detail}`, { cause: error });
    }
    const available = policy.entrypoints as Record<string, number>;
    const missing = POLICY_ENTRYPOINTS.filter((entrypoint) => !(entrypoint in available));
    if (missing.length > 0) {
      throw new Error(`policy bundle ${wasmPath} lacks entrypoints ${missing.join(', ')}: run npm run policies:build`);
    }
    const engine = new WasmPolicyEngine(policy);
    engine.setRolesData({});
    return engine;
  }

  /** Bytes of wasm linear memory in use (it never shrinks); for health/metrics and the memory test. */
  get memoryBytes(): number {
    return this.policy.mem.buffer.byteLength;
  }

  setRoles(roles: Iterable<Role>): void {
    // Converted before setData so an invalid set of roles leaves the previous data in force.
    this.setRolesData(policyRolesData(roles));
  }

  evaluate(entrypoint: PolicyEntrypoint, input: unknown): Record<string, unknown> {
    if (this.dataError) throw new Error(`policy data is not loaded: ${this.dataError.message}`, { cause: this.dataError });
    let resultSet: unknown;
    try {
      resultSet = this.policy.evaluate(input, entrypoint);
    } catch (error) {
      // The SDK throws strings for some errors (unknown entrypoint); wrap everything as an Error.
      const detail = error instanceof Error ? error.message : String(error);
      throw new Error(`policy ${entrypoint} failed to evaluate: ${detail}`, { cause: error });
    }
    const document = Array.isArray(resultSet) && resultSet.length > 0 ? (resultSet[0] as { result?: unknown }).result : undefined;
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw new Error(`policy ${entrypoint} produced no decision document`);
    }
    return document as Record<string, unknown>;
  }

  private setRolesData(roles: DellRoles): void {
    const [root, key] = ROLES_DATA_PATH;
    try {
      // setData writes over the previous data in place, so a failure (memory maximum reached)
      // leaves neither the old nor the new roles: evaluate fails closed until the next success.
      this.policy.setData({ [root]: { [key]: roles } });
      this.dataError = undefined;
    } catch (error) {
      this.dataError = error instanceof Error ? error : new Error(String(error));
      throw new Error(`policy data failed to load: ${this.dataError.message}`, { cause: error });
    }
  }
}
