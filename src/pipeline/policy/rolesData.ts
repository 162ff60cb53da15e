// Our Role objects → the roles document of Dell's policies (karavi.common.roles), which the engine
// hands to the policy as data (data.storage_authz.roles) instead of rewriting a policy like Dell.
import type { Quota, Role } from '../../resources/types.js';

/** Quota in KiB per pool; 0 means unlimited (Dell's convention, kept so Dell's policies carry over). */
export type PoolQuotas = Record<string, number>;
export type DellRoles = Record<
  string,
  { system_types: Record<string, { system_ids: Record<string, { pool_quotas: PoolQuotas }> }> }
>;

/** Where the policies read the roles from (see policies/common.rego). */
export const ROLES_DATA_PATH = ['storage_authz', 'roles'] as const;

/** Dell's number for a quota. A limited quota must be a positive integer: Dell would read 0 as unlimited. */
export function dellQuota(quota: Quota): number {
  if (quota.kind === 'unlimited') return 0;
  if (!Number.isSafeInteger(quota.kib) || quota.kib <= 0) {
    throw new Error(`invalid limited quota ${String(quota.kib)} KiB: expected a positive integer (use unlimited for no limit)`);
  }
  return quota.kib;
}

/**
 * Builds Dell's roles document from roles. Several Role objects with the same name (one per
 * system and pool) merge into one role entry; the same name, system and pool twice is a
 * configuration error, reported rather than resolved by picking one quota.
 */
export function policyRolesData(roles: Iterable<Role>): DellRoles {
  // Maps rather than object literals while building, so role or pool names such as "__proto__"
  // are ordinary keys; Object.fromEntries then defines them as own properties.
  const byName = new Map<string, Map<string, Map<string, Map<string, number>>>>();
  for (const role of roles) {
    const pools = nested(nested(nested(byName, role.name), role.systemType), role.systemID);
    if (pools.has(role.pool)) {
      throw new Error(
        `role ${role.name} is defined twice for ${role.systemType}/${role.systemID}/${role.pool}`,
      );
    }
    pools.set(role.pool, dellQuota(role.quota));
  }
  return Object.fromEntries(
    [...byName].map(([name, types]) => [
      name,
      {
        system_types: Object.fromEntries(
          [...types].map(([type, systems]) => [
            type,
            {
              system_ids: Object.fromEntries(
                [...systems].map(([systemID, pools]) => [systemID, { pool_quotas: Object.fromEntries(pools) }]),
              ),
            },
          ]),
        ),
      },
    ]),
  );
}

function nested<V>(map: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let inner = map.get(key);
  if (!inner) {
    inner = new Map();
    map.set(key, inner);
  }
  return inner;
}
