// Policy inputs (pure): Dell's input shapes per package (reference §3.1, §4), so Dell's Rego tests
// carry over. The claims carry the tenant's LIVE roles (CSMTenant), not the roles minted into the
// token, so unbinding a role takes effect on the next request.
import type { Operation, VolumeInfo } from '../../arrays/types.js';
import type { StorageSystem, Tenant } from '../../resources/types.js';
import type { TokenClaims } from '../../tokens/types.js';
import type { ClaimsInput, PowerStoreCreateInput, SnapshotCreateInput, VolumeCreateInput } from '../policy/decisions.js';
import type { PolicyEntrypoint } from '../policy/types.js';

export interface PolicyQuery {
  entrypoint: PolicyEntrypoint;
  input: VolumeCreateInput | PowerStoreCreateInput | SnapshotCreateInput | ClaimsInput;
}

export function liveClaims(claims: TokenClaims, tenant: Tenant): TokenClaims {
  return { ...claims, group: tenant.name, roles: tenant.roles.join(',') };
}

const CREATE_ENTRYPOINT: Record<StorageSystem['type'], PolicyEntrypoint> = {
  powerflex: 'karavi/volumes/create',
  powerscale: 'karavi/volumes/create',
  powermax: 'karavi/volumes/powermax/create',
  powerstore: 'karavi/volumes/powerstore/create',
};

export function volumeCreateQuery(
  claims: TokenClaims,
  system: StorageSystem,
  operation: Extract<Operation, { kind: 'volume-create' }>,
  poolName: string,
): PolicyQuery {
  const entrypoint = CREATE_ENTRYPOINT[system.type];
  if (system.type === 'powerstore') {
    // PowerStore's package reads `request.size` and keys quota by the systemID (no pools).
    return { entrypoint, input: { claims, request: { name: operation.name, size: operation.sizeKiB }, storagesystemid: system.systemID, systemtype: 'powerstore' } };
  }
  const request = { name: operation.name, volumeSizeInKb: operation.sizeKiB, storagePoolId: operation.poolId };
  return { entrypoint, input: { claims, request, storagepool: poolName, storagesystemid: system.systemID, systemtype: system.type } };
}

/**
 * karavi/volumes/expand: the create family's input for the volume's new size on its pool, with
 * the size it has now (the policy refuses a shrink); the ledger charges the increase.
 */
export function volumeExpandQuery(claims: TokenClaims, system: StorageSystem, volume: VolumeInfo, newSizeKiB: number): PolicyQuery {
  const request = { name: volume.name, volumeSizeInKb: newSizeKiB, currentSizeInKb: volume.sizeKiB, storagePoolId: volume.poolId };
  return { entrypoint: 'karavi/volumes/expand', input: { claims, request, storagepool: volume.poolName, storagesystemid: system.systemID, systemtype: system.type } };
}

export function snapshotCreateQuery(
  claims: TokenClaims,
  system: StorageSystem,
  operation: Extract<Operation, { kind: 'snapshot-create' }>,
  sources: readonly VolumeInfo[],
): PolicyQuery {
  const request = operation.snapshots.map((snapshot, index) => ({
    name: snapshot.snapshotName,
    volumeSizeInKb: sources[index]!.sizeKiB,
    storagepool: sources[index]!.poolName,
  }));
  return { entrypoint: 'karavi/snapshot/create', input: { claims, request, storagesystemid: system.systemID, systemtype: system.type } };
}

/**
 * The same question at size 0 (every size field of the input, an expansion's current size too):
 * allowed exactly when a role with a valid quota grants the pool, whatever its quota. Report mode
 * asks it to tell a refusal for size from any other (authorize.ts). Undefined when the sizes are
 * refused for themselves (not a whole number of KiB, a shrink): that refusal stands in any mode.
 */
export function atNoSize(query: PolicyQuery): PolicyQuery | undefined {
  const kib = (size: unknown): number | undefined =>
    (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) || (typeof size === 'string' && /^[0-9]+$/.test(size)) ? Number(size) : undefined;
  const sized = (request: Record<string, unknown>): Record<string, unknown> | undefined => {
    const zeroed = { ...request };
    for (const field of ['volumeSizeInKb', 'currentSizeInKb', 'size']) {
      if (!(field in zeroed)) continue;
      if (kib(zeroed[field]) === undefined) return undefined;
      zeroed[field] = 0;
    }
    const shrink = 'currentSizeInKb' in request && kib(request.volumeSizeInKb)! < kib(request.currentSizeInKb)!;
    return shrink ? undefined : zeroed;
  };
  const asked = (query.input as { request?: unknown }).request;
  if (asked === undefined) return undefined;
  const requests = (Array.isArray(asked) ? asked : [asked]).map((request) => sized(request as Record<string, unknown>));
  if (requests.some((request) => request === undefined)) return undefined;
  const request = Array.isArray(asked) ? requests : requests[0];
  return { entrypoint: query.entrypoint, input: { ...query.input, request } as PolicyQuery['input'] };
}

const CLAIMS_ONLY: Partial<Record<Operation['kind'], PolicyEntrypoint>> = {
  'volume-delete': 'karavi/volumes/delete',
  'volume-map': 'karavi/volumes/map',
  // Dell has no restore package; a restore only touches the tenant's own volumes, as a map does.
  'volume-restore': 'karavi/volumes/map',
  'volume-unmap': 'karavi/volumes/unmap',
  'sdc-approve': 'karavi/sdc/approve',
};

/** Delete, map, unmap and SDC approval: Dell's packages look at the claims only. */
export function claimsOnlyQuery(kind: Operation['kind'], claims: TokenClaims): PolicyQuery | undefined {
  const entrypoint = CLAIMS_ONLY[kind];
  return entrypoint && { entrypoint, input: { claims } };
}
