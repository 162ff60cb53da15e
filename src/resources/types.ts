// The declarative configuration a storage admin writes: CSMTenant, CSMRole and Storage objects
// (apiVersion csm-authorization.storage.dell.com/v1, Dell's field names), as the service uses them
// after validation. The YAML/CRD shapes live in the JSON Schemas next to the loader.

export const API_VERSION = 'csm-authorization.storage.dell.com/v1';

export const SYSTEM_TYPES = ['powerflex', 'powermax', 'powerscale', 'powerstore'] as const;
export type SystemType = (typeof SYSTEM_TYPES)[number];

/**
 * How quota denials are applied: `enforce` refuses them (the default); `report` lets them through
 * and records each as "would deny" (a dry run for rolling quotas onto tenants that already have
 * volumes). Ownership, token and unknown-operation denials are never report-only.
 */
export const ENFORCEMENT_MODES = ['enforce', 'report'] as const;
export type Enforcement = (typeof ENFORCEMENT_MODES)[number];

/**
 * A quota in integer KiB; `unlimited` is explicit (Dell writes it as `0`). The quota a charge is
 * held to carries how it is enforced (pipeline/authorize/enforcement.ts); absent: `enforce`.
 */
export type Quota = { kind: 'limited'; kib: number; enforcement?: Enforcement } | { kind: 'unlimited' };

export interface Tenant {
  name: string;
  /** Role names bound to this tenant (CSMTenant.spec.roles, a comma list in YAML). */
  roles: string[];
  approveSdc: boolean;
  revoke: boolean;
  volumePrefix?: string;
  /** Tenant clusters whose service-account tokens act as this tenant (CSMTenant.spec.identities). */
  identities?: TrustedIdentity[];
  /** `spec.enforcement`: when set, decides for every role of the tenant (see Enforcement). */
  enforcement?: Enforcement;
}

/** One tenant cluster's service-account issuer, trusted for the listed service accounts. */
export interface TrustedIdentity {
  issuer: string;
  /** The token's `aud` must contain one of these. */
  audiences: string[];
  /**
   * Where the issuer's keys are: fetched (`jwksUri`, trusting `caBundle` when set), found by OIDC
   * discovery (`<issuer>/.well-known/openid-configuration` → `jwks_uri`), or inline.
   */
  keys:
    | { kind: 'remote'; jwksUri: string; caBundle?: string }
    | { kind: 'discovery'; caBundle?: string }
    | { kind: 'inline'; jwks: { keys: Record<string, unknown>[] } };
  /** `system:serviceaccount:<namespace>:<name>` values the token's `sub` may have. */
  subjects: string[];
  /** Namespaces whose pods may mount the tenant's volumes (CSI node proxy); absent: every namespace. */
  mountNamespaces?: string[];
}

export interface Role {
  name: string;
  systemType: SystemType;
  systemID: string;
  /** PowerFlex pool name, PowerMax SRP, PowerScale isiPath; PowerStore: the systemID. */
  pool: string;
  quota: Quota;
  /**
   * `spec.requireHardQuota: false` (PowerScale): the tenant may use volumes the array puts no
   * capacity limit on (directories without a hard quota), charged nothing. Absent: refused.
   */
  allowUnbounded?: boolean;
  /** `spec.enforcement`: how this role's quota is applied unless its tenant says (see Enforcement). */
  enforcement?: Enforcement;
}

/** Where an array's username/password come from: files in a mounted Secret or Secrets Store CSI volume. */
export type CredentialsRef =
  | { kind: 'secret'; name: string }
  | { kind: 'secretProviderClass'; name: string; usernameObjectName: string; passwordObjectName: string };

export interface StorageSystem {
  /** metadata.name of the Storage object. */
  name: string;
  type: SystemType;
  systemID: string;
  /** Array REST endpoint, e.g. https://10.0.0.1 */
  endpoint: string;
  skipCertificateValidation: boolean;
  credentials: CredentialsRef;
  pollInterval?: string;
  isiPath?: string;
  /** `spec.maxConcurrentRequests`: the edge's circuit breaker on this array's cluster; unset, Envoy's default (1024). */
  maxConcurrentRequests?: number;
}

export interface ArrayCredentials {
  username: string;
  password: string;
}

/** One consistent, validated view of all resources. Replaced whole on every accepted change. */
export interface ResourceSnapshot {
  /** Increases by one with every accepted change. */
  generation: number;
  tenants: ReadonlyMap<string, Tenant>;
  roles: ReadonlyMap<string, Role>;
  /** Keyed by `${type}/${systemID}` (see storageKey). */
  storage: ReadonlyMap<string, StorageSystem>;
}

export const storageKey = (type: SystemType, systemID: string): string => `${type}/${systemID}`;

/** Read access to the current resources, plus change notification (hot reload). */
export interface ResourceSource {
  current(): ResourceSnapshot;
  /** Called after each accepted change; returns an unsubscribe function. */
  onChange(listener: (snapshot: ResourceSnapshot) => void): () => void;
  /** Resolves the array credentials of a system by reading its credential files (never cached across changes). */
  credentials(system: StorageSystem): Promise<ArrayCredentials>;
}

/** What the service learns about an array at run time (reachability, reconciliation). */
export interface StorageReport {
  reachable?: boolean;
  /** What the last contact with the array said (an error, say); never a credential. */
  message?: string;
  /** When the quota ledger was last reconciled with the array. */
  lastReconciliation?: Date;
}

/** Provisioned capacity of one tenant on one pool, in KiB (admin/usage.ts computes it). */
export interface TenantPoolUsage {
  systemType: SystemType;
  systemID: string;
  pool: string;
  /** null = unlimited (a role with quota 0); 0 with no roles = nothing may be created here. */
  quotaKiB: number | null;
  /** Confirmed by the array. */
  usedKiB: number;
  /** Held for requests the array has not confirmed yet; counts against the quota as used does. */
  reservedKiB: number;
  volumes: number;
  /** How quota denials apply here (pipeline/authorize/enforcement.ts): `report` lets them through. */
  enforcement: Enforcement;
  /** used + reserved − quota when above it (report mode lets a tenant get there), else 0. */
  overQuotaKiB: number;
}

/**
 * Where run-time facts about objects are shown to the admin (Kubernetes: the objects' status).
 * Sources that cannot show them (a directory) do not implement it.
 */
export interface StatusReporter {
  reportStorage(name: string, report: StorageReport): void;
  reportTenantUsage(tenant: string, usage: readonly TenantPoolUsage[]): void;
}
