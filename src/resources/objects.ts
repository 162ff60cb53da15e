// Validation of one declarative object (CSMTenant, CSMRole, Storage) against its JSON Schema — the
// same schema the CRDs carry — plus the checks a schema cannot express (quota sizes, role lists),
// and its conversion into the typed Tenant/Role/StorageSystem the service uses.
import { Ajv, type ErrorObject } from 'ajv';
import metadataSchema from './schemas/metadata.schema.json' with { type: 'json' };
import tenantSchema from './schemas/csmtenant.schema.json' with { type: 'json' };
import roleSchema from './schemas/csmrole.schema.json' with { type: 'json' };
import storageSchema from './schemas/storage.schema.json' with { type: 'json' };
import { parseQuota } from './quota.js';
import type { CredentialsRef, Enforcement, Role, StorageSystem, SystemType, Tenant, TrustedIdentity } from './types.js';

export const RESOURCE_KINDS = ['CSMTenant', 'CSMRole', 'Storage'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** What is wrong, and where: `path` is dotted from the object root (e.g. `spec.quota`). */
export interface FieldError {
  path: string;
  message: string;
}

export type ResourceObject =
  | { kind: 'CSMTenant'; name: string; tenant: Tenant }
  | { kind: 'CSMRole'; name: string; role: Role }
  | { kind: 'Storage'; name: string; storage: StorageSystem };

export type ObjectValidation = { ok: true; value: ResourceObject } | { ok: false; errors: FieldError[] };

// The schemas' own validity is checked once, here, at startup; allErrors so one pass reports every
// problem in an object; verbose so errors carry the failing sub-schema (its description).
// strictRequired is off because CSMRole's `then: {required: [pool]}` names a property declared
// one level up, which is valid JSON Schema that the strict check cannot see.
const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
ajv.addSchema(metadataSchema);
const validators = {
  CSMTenant: ajv.compile(tenantSchema),
  CSMRole: ajv.compile(roleSchema),
  Storage: ajv.compile(storageSchema),
} as const;

const DNS_1123 = new RegExp(metadataSchema.properties.name.pattern);

export function isResourceKind(kind: unknown): kind is ResourceKind {
  return typeof kind === 'string' && (RESOURCE_KINDS as readonly string[]).includes(kind);
}

/** Validates a parsed YAML/JSON object; on success returns its typed form. Never throws. */
export function validateObject(obj: unknown): ObjectValidation {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { ok: false, errors: [{ path: '', message: 'must be an object with apiVersion, kind, metadata and spec' }] };
  }
  const { kind } = obj as { kind?: unknown };
  if (!isResourceKind(kind)) {
    return { ok: false, errors: [{ path: 'kind', message: `${JSON.stringify(kind)} is not one of ${RESOURCE_KINDS.join(', ')}` }] };
  }
  const validate = validators[kind];
  if (!validate(obj)) return { ok: false, errors: (validate.errors ?? []).filter(isReported).map(toFieldError) };

  const errors: FieldError[] = [];
  const value = toResourceObject(kind, obj as unknown as ValidObject, errors);
  return errors.length || !value ? { ok: false, errors } : { ok: true, value };
}

/** The spec shapes the schemas guarantee once validation passed. */
interface ValidObject {
  metadata: { name: string };
  spec: Record<string, unknown>;
}
interface TenantSpec { roles?: string; approveSdc: boolean; revoke: boolean; volumePrefix?: string; identities?: IdentitySpec[]; enforcement?: Enforcement }
interface IdentitySpec { issuer: string; audiences: string[]; jwksUri?: string; jwks?: { keys: Record<string, unknown>[] }; caBundle?: string; subjects: string[]; mountNamespaces?: string[] }
interface RoleSpec { quota: string | number; systemID: string; systemType: SystemType; pool?: string; requireHardQuota?: boolean; enforcement?: Enforcement }
interface StorageSpec {
  type: SystemType;
  endpoint: string;
  systemID: string;
  skipCertificateValidation: boolean;
  pollInterval?: string;
  isiPath?: string;
  maxConcurrentRequests?: number;
  storageSystemCredentials: { secret?: string; secretProviderClass?: { name: string; usernameObjectName: string; passwordObjectName: string } };
}

function toResourceObject(kind: ResourceKind, obj: ValidObject, errors: FieldError[]): ResourceObject | undefined {
  const name = obj.metadata.name;
  switch (kind) {
    case 'CSMTenant': {
      const spec = obj.spec as unknown as TenantSpec;
      const roles = parseRoleList(spec.roles ?? '', errors);
      const tenant: Tenant = { name, roles, approveSdc: spec.approveSdc, revoke: spec.revoke };
      if (spec.volumePrefix !== undefined) tenant.volumePrefix = spec.volumePrefix;
      if (spec.identities !== undefined) tenant.identities = trustedIdentities(spec.identities, errors);
      if (spec.enforcement !== undefined) tenant.enforcement = spec.enforcement;
      return { kind, name, tenant };
    }
    case 'CSMRole': {
      const spec = obj.spec as unknown as RoleSpec;
      const quota = parseQuota(spec.quota);
      if (!quota.ok) {
        errors.push({ path: 'spec.quota', message: quota.message });
        return undefined;
      }
      // PowerStore has no pool: the whole system is the unit a quota applies to.
      const pool = spec.pool ?? spec.systemID;
      const role: Role = { name, systemType: spec.systemType, systemID: spec.systemID, pool, quota: quota.quota };
      if (spec.requireHardQuota === false) role.allowUnbounded = true;
      if (spec.enforcement !== undefined) role.enforcement = spec.enforcement;
      return { kind, name, role };
    }
    case 'Storage': {
      const spec = obj.spec as unknown as StorageSpec;
      if (!URL.canParse(spec.endpoint)) {
        errors.push({ path: 'spec.endpoint', message: `"${spec.endpoint}" is not a valid URL` });
        return undefined;
      }
      const storage: StorageSystem = {
        name,
        type: spec.type,
        systemID: spec.systemID,
        endpoint: spec.endpoint,
        skipCertificateValidation: spec.skipCertificateValidation,
        credentials: credentialsRef(spec.storageSystemCredentials),
      };
      if (spec.pollInterval !== undefined) storage.pollInterval = spec.pollInterval;
      if (spec.isiPath !== undefined) storage.isiPath = spec.isiPath;
      if (spec.maxConcurrentRequests !== undefined) storage.maxConcurrentRequests = spec.maxConcurrentRequests;
      return { kind, name, storage };
    }
  }
}

/** `"gold, silver"` → ['gold', 'silver']; blank means no roles. */
function parseRoleList(text: string, errors: FieldError[]): string[] {
  if (text.trim() === '') return [];
  const roles = text.split(',').map((role) => role.trim());
  const seen = new Set<string>();
  for (const role of roles) {
    if (!DNS_1123.test(role)) {
      errors.push({ path: 'spec.roles', message: `${JSON.stringify(role)} in "${text}" is not a role name (comma-separated DNS-1123 names)` });
    } else if (seen.has(role)) {
      errors.push({ path: 'spec.roles', message: `role "${role}" is listed twice in "${text}"` });
    }
    seen.add(role);
  }
  return roles;
}

function trustedIdentities(specs: IdentitySpec[], errors: FieldError[]): TrustedIdentity[] {
  const seen = new Set<string>();
  return specs.map((spec, index) => {
    const at = `spec.identities.${index}`;
    if (!URL.canParse(spec.issuer)) errors.push({ path: `${at}.issuer`, message: `"${spec.issuer}" is not a URL (a service-account issuer is one, e.g. https://kubernetes.default.svc)` });
    if (spec.jwksUri !== undefined && !URL.canParse(spec.jwksUri)) errors.push({ path: `${at}.jwksUri`, message: `"${spec.jwksUri}" is not a valid URL` });
    if (spec.caBundle !== undefined && spec.jwks !== undefined) errors.push({ path: `${at}.caBundle`, message: 'does not apply to inline jwks (they are not fetched)' });
    spec.jwks?.keys.forEach((key, k) => {
      if (typeof key.kty !== 'string') errors.push({ path: `${at}.jwks.keys.${k}.kty`, message: 'is required (a JWK)' });
      if ('d' in key) errors.push({ path: `${at}.jwks.keys.${k}`, message: 'is a private key: give only the public keys' });
    });
    for (const subject of spec.subjects) {
      if (seen.has(`${spec.issuer} ${subject}`)) errors.push({ path: `${at}.subjects`, message: `"${subject}" of issuer "${spec.issuer}" is listed twice` });
      seen.add(`${spec.issuer} ${subject}`);
    }
    const ca = spec.caBundle !== undefined ? { caBundle: spec.caBundle } : {};
    const keys: TrustedIdentity['keys'] = spec.jwks
      ? { kind: 'inline', jwks: spec.jwks }
      : spec.jwksUri !== undefined
        ? { kind: 'remote', jwksUri: spec.jwksUri, ...ca }
        : { kind: 'discovery', ...ca };
    return { issuer: spec.issuer, audiences: spec.audiences, keys, subjects: spec.subjects, ...(spec.mountNamespaces ? { mountNamespaces: spec.mountNamespaces } : {}) };
  });
}

function credentialsRef(ref: StorageSpec['storageSystemCredentials']): CredentialsRef {
  if (ref.secretProviderClass) return { kind: 'secretProviderClass', ...ref.secretProviderClass };
  return { kind: 'secret', name: ref.secret as string };
}

// An unmet `then` also yields an `if` error that only says "must match then schema"; the
// `required` error beside it is the useful one.
const isReported = (error: ErrorObject): boolean => error.keyword !== 'if';

function toFieldError(error: ErrorObject): FieldError {
  const path = error.instancePath.slice(1).replaceAll('/', '.');
  const at = (child: string) => (path ? `${path}.${child}` : child);
  const description = (error.parentSchema as { description?: string } | undefined)?.description;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { path: at(String(params.missingProperty)), message: 'is required' };
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object }).properties ?? {});
      const similar = known.find((k) => k.toLowerCase() === field.toLowerCase());
      return { path: at(field), message: similar ? `is not a known field (did you mean "${similar}"?)` : `is not a known field (known: ${known.join(', ')})` };
    }
    case 'pattern':
      return { path, message: `${JSON.stringify(error.data)} is not valid: expected ${description ?? `a match for ${String(params.pattern)}`}` };
    case 'enum':
      return { path, message: `${JSON.stringify(error.data)} is not one of ${(params.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { path, message: `must be ${JSON.stringify(params.allowedValue)}, not ${JSON.stringify(error.data)}` };
    case 'type':
      return { path, message: `must be ${String(params.type).replace(',', ' or ')}, not ${JSON.stringify(error.data)}` };
    case 'minLength':
      return { path, message: params.limit === 1 ? 'must not be empty' : `must have at least ${String(params.limit)} characters` };
    case 'oneOf': {
      const fields = (error.schema as { required?: string[] }[]).flatMap((choice) => choice.required ?? []);
      return { path, message: fields.length ? `needs exactly one of ${fields.join(', ')}` : (error.message ?? 'fails oneOf') };
    }
    case 'not': {
      const fields = (error.schema as { required?: string[] }).required ?? [];
      return { path, message: fields.length > 1 ? `may set at most one of ${fields.join(', ')}` : (error.message ?? 'fails not') };
    }
    case 'minProperties':
    case 'maxProperties':
      return { path, message: `must have ${description ?? error.message ?? 'a different number of fields'}` };
    default:
      return { path, message: error.message ?? `fails ${error.keyword}` };
  }
}
