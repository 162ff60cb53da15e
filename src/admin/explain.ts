// What would change a decision's answer, for `authzctl why-denied`: from the audit record's figures,
// and for an ownership refusal from the ledger's word on who holds the volume now.
import type { Ledger } from '../ledger/types.js';
import { formatKiB } from '../pipeline/ledger/capacity.js';
import type { SystemType } from '../resources/types.js';
import type { DecisionRecord } from '../telemetry/audit.js';

const on = (record: DecisionRecord): string => `${record.arrayType ?? 'unknown'} system "${record.systemID ?? 'unknown'}"`;

const TOKEN_ADVICE =
  'issue a new token pair with `authzctl generate token --tenant <tenant>`, or check the sidecar (its /ready and log say whether its refresh fails)';

/** One sentence: what would turn this decision into an allow (or why nothing needs to). */
export async function explain(record: DecisionRecord, ledger: Pick<Ledger, 'holders'>): Promise<string> {
  if (record.outcome === 'allow' && record.wouldDeny) {
    // Report mode: explained as the denial it would have been, which is what enforcing it brings.
    const { wouldDeny, ...allowed } = record;
    const denial: DecisionRecord = { ...allowed, ...wouldDeny, outcome: 'deny' };
    return `allowed only because the quota is report-only here; enforced, it would be denied ${wouldDeny.status} (${wouldDeny.reason}): ${await explain(denial, ledger)}`;
  }
  if (record.outcome === 'allow') return 'allowed: nothing to change';
  const tenant = record.tenant ?? 'unknown';
  switch (record.reason) {
    case 'quota-exceeded': {
      const { quotaKiB = 0, usedKiB = 0, requestedKiB = 0 } = record;
      const short = usedKiB + requestedKiB - quotaKiB;
      return (
        `needs ${formatKiB(short)} more quota in pool ${record.pool ?? 'unknown'} on ${on(record)} ` +
        `(quota ${formatKiB(quotaKiB)}, used ${formatKiB(usedKiB)}, requested ${formatKiB(requestedKiB)}): ` +
        `raise the quota of tenant "${tenant}"'s role for that pool, or delete volumes there`
      );
    }
    case 'not-owner': {
      if (!record.volume || !record.systemID || !record.arrayType) return 'the volume is not the tenant\'s';
      const holders = await ledger.holders(record.arrayType as SystemType, record.systemID, record.volume);
      const owners = [...new Set(holders.map((scope) => scope.tenant))].filter((owner) => owner !== tenant);
      return owners.length > 0
        ? `volume "${record.volume}" is owned by ${owners.map((owner) => `tenant "${owner}"`).join(', ')}: only its owner may ${record.operation?.replace(/^volume-/, '') ?? 'change'} it`
        : `volume "${record.volume}" is charged to no tenant in the ledger (made outside storage-authz, or already deleted): no tenant may change it until reconciliation adopts it`;
    }
    case 'missing-token':
    case 'invalid-authz-header':
      return 'the request carried no Bearer token: it did not come through the storage-authz sidecar (or the sidecar has no token)';
    case 'tenant-revoked':
      return `tenant "${tenant}" is revoked: set spec.revoke to false (authzctl tenant update) to let it in again`;
    case 'unknown-tenant':
      return 'the token names a tenant that is not configured: create the tenant, or issue the driver a token of an existing one';
    case 'admin-token':
      return 'an admin token was used on the storage data path: give the driver a tenant token (authzctl generate token)';
    case 'no-role-on-system':
      return `tenant "${tenant}" has no role on ${on(record)}: bind it a role for that system (authzctl rolebinding create)`;
    case 'policy-denied':
      return `the policy refused it (${record.message ?? 'no reason given'}): tenant "${tenant}" needs a role granting pool ${record.pool ?? 'unknown'} on ${on(record)}`;
    case 'unknown-mutation':
      return 'storage-authz does not know this operation, so it is refused (fail closed); ask for it to be added to the array\'s operation table';
    case 'sdc-approve-denied':
      return `tenant "${tenant}" may not approve SDCs: set spec.approveSdc: true on it`;
    case 'volume-busy':
      return `volume "${record.volume ?? 'unknown'}" was being created, deleted or expanded by another request: retry once that settles`;
    case 'ledger-unavailable':
      return 'the quota store (Redis) was unreachable: nothing about the request was wrong; it succeeds once Redis answers';
    default:
      if (record.reason.startsWith('token-')) return `the token was refused (${record.message ?? record.reason}): ${TOKEN_ADVICE}`;
      return record.message ?? record.reason;
  }
}
