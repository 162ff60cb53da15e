// The operation table (DESIGN.md §2): each operation kind is one entry naming what it looks up on
// the array, its policy query and its ledger effect. The effect's holds are settled by their kind
// (reservation, deletion, resize: pipeline/confirm/settle.ts, rules in src/ledger/README.md), so a
// new operation kind is one entry here, not another branch in the pipeline.
import type { ArrayAdapter, Operation, VolumeInfo } from '../arrays/types.js';
import type { Ledger } from '../ledger/types.js';
import type { ArrayCredentials, Quota, Role, StorageSystem, Tenant } from '../resources/types.js';
import type { TokenClaims } from '../tokens/types.js';
import { authorizeClaims, authorizeCreate, authorizeSnapshots, type Authorized } from './authorize/authorize.js';
import { enforcementOf } from './authorize/enforcement.js';
import { claimsOnlyQuery, snapshotCreateQuery, volumeCreateQuery, volumeExpandQuery } from './authorize/inputs.js';
import { readAccess } from './identity/identity.js';
import { deletion, NOTHING_HELD, ownership, reserveAll, resize, scopeOf, type LedgerHold } from './ledger/ledger.js';
import type { PolicyEngine } from './policy/types.js';
import { reject, type Rejection } from './response/deny.js';

/** Everything an entry may use, for one request. */
export interface OperationContext {
  adapter: ArrayAdapter;
  system: StorageSystem;
  credentials: ArrayCredentials;
  tenant: Tenant;
  /** storageKey of every system the tenant's live roles name (identity phase). */
  systems: ReadonlySet<string>;
  /** The tenant's live roles (identity phase). */
  roles: readonly Role[];
  /** The token's claims with the tenant's live roles. */
  claims: TokenClaims;
  policy: PolicyEngine;
  ledger: Ledger;
}

/** Kinds that reach the table: login is answered locally, invalid and unknown mutations are refused first. */
export type TableKind = Exclude<Operation['kind'], 'login' | 'invalid' | 'unknown-mutation'>;
type OperationOf<K extends Operation['kind']> = Extract<Operation, { kind: K }>;
export type TableOperation = OperationOf<TableKind>;

export interface OperationEntry<K extends TableKind, Facts> {
  /** Lookups on the array (pool names, volumes); a throw is the driver's error (enrich phase). */
  enrich(context: OperationContext, operation: OperationOf<K>): Promise<Facts>;
  /** The policy query and its decision: the quota each charge is held to. */
  policy(context: OperationContext, operation: OperationOf<K>, facts: Facts): Authorized | Rejection;
  /** The ledger effect: what it holds (and so how it is settled), or why it is refused. */
  ledger(context: OperationContext, operation: OperationOf<K>, facts: Facts, quotas: readonly Quota[]): Promise<LedgerHold | Rejection>;
}

const NO_FACTS = async (): Promise<undefined> => undefined;
const NO_HOLD = async (): Promise<LedgerHold> => NOTHING_HELD;

const volumeOf = ({ adapter, system, credentials }: OperationContext, volumeId: string): Promise<VolumeInfo> =>
  adapter.volume(system, credentials, volumeId);

/** The volume as the array has it now: for operations charged by its size. */
const currentVolumeOf = ({ adapter, system, credentials }: OperationContext, volumeId: string): Promise<VolumeInfo> =>
  adapter.volume(system, credentials, volumeId, { fresh: true });

/** Dell's packages that look at the claims only (delete, map, unmap, SDC approval). */
const claimsPolicy = (kind: TableKind) => (context: OperationContext): Authorized | Rejection => {
  const query = claimsOnlyQuery(kind, context.claims);
  return query ? authorizeClaims(context.policy, query) : { quotas: [] };
};

/** How quota denials apply to this tenant on `pool` (report mode: let through, recorded). */
const modeOn = ({ tenant, roles, system }: OperationContext, pool: string) => enforcementOf(tenant, roles, system, pool);

const firstQuota = (quotas: readonly Quota[]): Quota => {
  if (!quotas[0]) throw new Error('a charge reached the ledger without its quota');
  return quotas[0];
};

/**
 * A volume the array puts no capacity limit on (`unbounded`: a PowerScale directory without a hard
 * quota) is charged nothing, so it may be mapped (exported, published, snapshotted, given a quota
 * without a hard threshold) only where one of the tenant's roles on its pool says
 * `requireHardQuota: false`. Unmapping and deleting it are always the owner's.
 */
function unboundedRefused({ roles, system }: OperationContext, volume: VolumeInfo): Rejection | undefined {
  if (!volume.unbounded) return undefined;
  const allowed = roles.some((role) => role.allowUnbounded && role.systemType === system.type && role.systemID === system.systemID && role.pool === volume.poolName);
  return allowed
    ? undefined
    : reject(400, 'hard-quota-required', `request denied: "${volume.name}" has no hard quota, so its use is unbounded; create its quota with thresholds.hard first (a role with requireHardQuota: false on ${volume.poolName} allows it)`);
}

/**
 * Map and unmap: the policy's word and the tenant's ownership, nothing held. Unmapping a volume its
 * owner already deleted (`softDeleted`) is the driver finishing that delete: no owner is left to ask.
 */
function ownedVolumeEntry(kind: 'volume-map' | 'volume-unmap', action: string): OperationEntry<typeof kind, VolumeInfo> {
  return {
    enrich: (context, operation) => volumeOf(context, operation.volumeId),
    policy: claimsPolicy(kind),
    ledger: async (context, _operation, volume) => {
      if (kind === 'volume-unmap' && volume.softDeleted) return NOTHING_HELD;
      return (await ownership(context, volume, action)) ?? (kind === 'volume-map' ? unboundedRefused(context, volume) : undefined) ?? NOTHING_HELD;
    },
  };
}

const volumeCreate: OperationEntry<'volume-create', string> = {
  enrich: ({ adapter, system, credentials }, operation) => adapter.poolName(system, credentials, operation.poolId),
  policy: (context, operation, poolName) => authorizeCreate(context.policy, volumeCreateQuery(context.claims, context.system, operation, poolName), modeOn(context, poolName)),
  ledger: (context, operation, poolName, quotas) =>
    reserveAll(context.ledger, [{ scope: scopeOf(context, poolName), volume: operation.name, sizeKiB: operation.sizeKiB, quota: firstQuota(quotas) }]),
};

/**
 * An expansion is held to `karavi.volumes.expand` (the create family's decision for the volume's
 * new size on its pool, shrinks refused), and charged by the increase. A volume the array can
 * shrink (`shrinkableToKiB`: a PowerScale quota) is asked about at its new size, as if it had it
 * (the role must still allow that size on the pool); the ledger frees the difference when confirmed.
 */
const volumeExpand: OperationEntry<'volume-expand', VolumeInfo> = {
  enrich: (context, operation) => currentVolumeOf(context, operation.volumeId),
  policy: (context, operation, volume) => {
    const asked = volume.shrinkableToKiB !== undefined && operation.newSizeKiB < volume.sizeKiB ? { ...volume, sizeKiB: operation.newSizeKiB } : volume;
    return authorizeCreate(context.policy, volumeExpandQuery(context.claims, context.system, asked, operation.newSizeKiB), modeOn(context, volume.poolName));
  },
  ledger: async (context, operation, volume, quotas) =>
    (await ownership(context, volume, 'expand')) ?? resize(context, volume, operation.newSizeKiB, firstQuota(quotas)),
};

/**
 * A new charge `name` on the pool of a volume the tenant owns, of the size `sizeOf` gives: held to
 * the create policy for that size and charged it, and only the volume's owner may make it.
 */
function chargeOnOwnedEntry<K extends 'volume-clone' | 'volume-quota'>(action: string, sizeOf: (operation: OperationOf<K>, source: VolumeInfo) => number): OperationEntry<K, VolumeInfo> {
  const named = (operation: OperationOf<K>) => operation as OperationOf<'volume-clone' | 'volume-quota'>;
  return {
    enrich: (context, operation) => currentVolumeOf(context, named(operation).volumeId),
    policy: (context, operation, source) =>
      authorizeCreate(
        context.policy,
        volumeCreateQuery(context.claims, context.system, { kind: 'volume-create', poolId: source.poolId, sizeKiB: sizeOf(operation, source), name: named(operation).name }, source.poolName),
        modeOn(context, source.poolName),
      ),
    ledger: async (context, operation, source, quotas) =>
      (await ownership(context, source, action)) ??
      reserveAll(context.ledger, [{ scope: scopeOf(context, source.poolName), volume: named(operation).name, sizeKiB: sizeOf(operation, source), quota: firstQuota(quotas) }]),
  };
}

/** A clone is a new volume the size of its source, on the source's pool. */
const volumeClone = chargeOnOwnedEntry<'volume-clone'>('clone', (_operation, source) => source.sizeKiB);

/**
 * A quota on a volume (PowerScale's SmartQuota on a directory) is a charge of its own, named apart
 * from the volume, so it can be made while the volume's create is still unconfirmed.
 */
const volumeQuota = chargeOnOwnedEntry<'volume-quota'>('quota', (operation) => operation.sizeKiB);

const snapshotCreate: OperationEntry<'snapshot-create', VolumeInfo[]> = {
  enrich: (context, operation) => Promise.all(operation.snapshots.map((snapshot) => currentVolumeOf(context, snapshot.volumeId))),
  policy: (context, operation, sources) =>
    authorizeSnapshots(
      context.policy,
      snapshotCreateQuery(context.claims, context.system, operation, sources),
      operation.snapshots.map((s) => s.snapshotName),
      // One answer for the request: report only when every source's pool is in report mode.
      sources.length > 0 && sources.every((source) => modeOn(context, source.poolName) === 'report') ? 'report' : 'enforce',
    ),
  ledger: async (context, operation, sources, quotas) => {
    for (const source of sources) {
      const refused = await ownership(context, source, 'snapshot');
      if (refused) return refused;
    }
    return reserveAll(
      context.ledger,
      operation.snapshots.map((snapshot, index) => {
        const source = sources[index]!;
        const quota = quotas[index];
        if (!quota) throw new Error('snapshot reached the ledger without a quota per snapshot');
        return { scope: scopeOf(context, source.poolName), volume: snapshot.snapshotName, sizeKiB: source.sizeKiB, quota };
      }),
    );
  },
};

/** A restore writes one volume's data into another: the tenant must own both; sizes do not change. */
const volumeRestore: OperationEntry<'volume-restore', VolumeInfo[]> = {
  enrich: (context, operation) => Promise.all([volumeOf(context, operation.volumeId), volumeOf(context, operation.sourceVolumeId)]),
  policy: claimsPolicy('volume-restore'),
  ledger: async (context, _operation, volumes) => {
    for (const volume of volumes) {
      const refused = await ownership(context, volume, 'restore');
      if (refused) return refused;
    }
    return NOTHING_HELD;
  },
};

const volumeDelete: OperationEntry<'volume-delete', VolumeInfo> = {
  enrich: (context, operation) => volumeOf(context, operation.volumeId),
  policy: claimsPolicy('volume-delete'),
  // A soft-deleted volume was freed when its owner's delete (the rename) was confirmed: removing it is not charged twice.
  ledger: async (context, _operation, volume) => (volume.softDeleted ? NOTHING_HELD : deletion(context, volume)),
};

const sdcApprove: OperationEntry<'sdc-approve', undefined> = {
  enrich: NO_FACTS,
  policy: claimsPolicy('sdc-approve'),
  ledger: async ({ tenant }) =>
    tenant.approveSdc ? NOTHING_HELD : reject(403, 'sdc-approve-denied', `sdc approve request denied: tenant "${tenant.name}" may not approve SDCs`),
};

/** A read goes to the array as it is, so it needs a live role on the system (identity/readAccess). */
const read: OperationEntry<'read', undefined> = {
  enrich: NO_FACTS,
  policy: (context) => readAccess(context, context.system) ?? { quotas: [] },
  ledger: NO_HOLD,
};

/** Facts are typed within each entry; the pipeline passes them from one step to the next untouched. */
type AnyEntry = OperationEntry<TableKind, unknown>;

export const OPERATIONS: Record<TableKind, AnyEntry> = {
  read: read as AnyEntry,
  'volume-create': volumeCreate as AnyEntry,
  'volume-expand': volumeExpand as AnyEntry,
  'volume-delete': volumeDelete as AnyEntry,
  'volume-clone': volumeClone as AnyEntry,
  'volume-restore': volumeRestore as AnyEntry,
  'volume-quota': volumeQuota as AnyEntry,
  'volume-map': ownedVolumeEntry('volume-map', 'map') as AnyEntry,
  'volume-unmap': ownedVolumeEntry('volume-unmap', 'unmap') as AnyEntry,
  'snapshot-create': snapshotCreate as AnyEntry,
  'sdc-approve': sdcApprove as AnyEntry,
};

/** The operation's entry, or undefined for kinds refused before the table (fail closed). */
export function entryOf(operation: Operation): { entry: AnyEntry; operation: TableOperation } | undefined {
  const entry = (OPERATIONS as Partial<Record<Operation['kind'], AnyEntry>>)[operation.kind];
  return entry && { entry, operation: operation as TableOperation };
}
