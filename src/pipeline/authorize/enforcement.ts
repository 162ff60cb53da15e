// How a tenant's quota denials are applied on a pool (pure): the one place the enforcement mode is
// read from the resources. The policy phase resolves it and marks the quotas it hands to the ledger,
// so the ledger's check follows the same mode without reading the resources itself.
import type { Enforcement, Quota, Role, StorageSystem, Tenant } from '../../resources/types.js';

/**
 * The tenant's `enforcement`, when set, decides (the admin rolls quotas onto one tenant at a time).
 * Otherwise `report` only when every live role of the tenant that grants this pool says `report`: a
 * single enforcing role (or none at all) enforces, so the mode fails closed.
 */
export function enforcementOf(tenant: Tenant, roles: readonly Role[], system: Pick<StorageSystem, 'type' | 'systemID'>, pool: string): Enforcement {
  if (tenant.enforcement) return tenant.enforcement;
  const granting = roles.filter((role) => role.systemType === system.type && role.systemID === system.systemID && role.pool === pool);
  return granting.length > 0 && granting.every((role) => role.enforcement === 'report') ? 'report' : 'enforce';
}

/** The quota as a charge is held to it: a limited quota carries a `report` mode to the ledger. */
export function applied(quota: Quota, enforcement: Enforcement): Quota {
  return quota.kind === 'limited' && enforcement === 'report' ? { ...quota, enforcement } : quota;
}
