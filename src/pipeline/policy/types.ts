// The policy phase's engine: Dell-compatible Rego packages compiled to WebAssembly (policies/).
import type { Role } from '../../resources/types.js';

export const POLICY_ENTRYPOINTS = [
  'karavi/volumes/create',
  'karavi/volumes/powermax/create',
  'karavi/volumes/powerstore/create',
  'karavi/volumes/expand',
  'karavi/volumes/delete',
  'karavi/volumes/map',
  'karavi/volumes/unmap',
  'karavi/sdc/approve',
  'karavi/snapshot/create',
  'storage_authz/mount',
] as const;
export type PolicyEntrypoint = (typeof POLICY_ENTRYPOINTS)[number];

export interface PolicyEngine {
  /** Replaces the roles data (Dell's `karavi.common.roles` shape). Called when resources change, never per request. */
  setRoles(roles: Iterable<Role>): void;
  /** Evaluates one package document (e.g. {allow, deny, permitted_roles}) for the given input. */
  evaluate(entrypoint: PolicyEntrypoint, input: unknown): Record<string, unknown>;
}
