// Builds one consistent ResourceSnapshot from validated objects, checking what no single object can:
// unique names, one Storage per (type, systemID), and that every reference resolves. Pure.
import type { ResourceError } from './errors.js';
import type { ResourceObject } from './objects.js';
import { storageKey, type ResourceSnapshot, type Role, type StorageSystem, type Tenant } from './types.js';

/** A validated object and the file it came from. */
export interface SourcedObject {
  /** Path relative to the resources directory. */
  file: string;
  object: ResourceObject;
}

export type SnapshotBuild = { ok: true; snapshot: ResourceSnapshot } | { ok: false; errors: ResourceError[] };

export function buildSnapshot(objects: readonly SourcedObject[], generation: number): SnapshotBuild {
  const errors: ResourceError[] = [];
  const tenants = new Map<string, Tenant>();
  const roles = new Map<string, Role>();
  const storage = new Map<string, StorageSystem>();
  const definedIn = new Map<string, string>(); // `${kind}/${name}` → file
  const storageDefinedBy = new Map<string, SourcedObject>();

  for (const sourced of objects) {
    const { file, object } = sourced;
    const at = { file, kind: object.kind, name: object.name };
    const first = definedIn.get(`${object.kind}/${object.name}`);
    if (first !== undefined) {
      errors.push({ ...at, path: 'metadata.name', message: `${object.kind} "${object.name}" is already defined in ${first}` });
      continue;
    }
    definedIn.set(`${object.kind}/${object.name}`, file);
    switch (object.kind) {
      case 'CSMTenant':
        tenants.set(object.name, freezeDeep(object.tenant));
        break;
      case 'CSMRole':
        roles.set(object.name, freezeDeep(object.role));
        break;
      case 'Storage': {
        const key = storageKey(object.storage.type, object.storage.systemID);
        const other = storageDefinedBy.get(key);
        if (other) {
          errors.push({ ...at, path: 'spec.systemID', message: `${object.storage.type} system "${object.storage.systemID}" is already defined by Storage "${other.object.name}" in ${other.file}` });
          break;
        }
        storageDefinedBy.set(key, sourced);
        storage.set(key, freezeDeep(object.storage));
        break;
      }
    }
  }

  // A service account acting as two tenants would get whichever one the lookup found first.
  const trustedBy = new Map<string, string>(); // `${issuer} ${subject}` → tenant
  for (const { file, object } of objects) {
    if (object.kind === 'CSMTenant' && tenants.get(object.name) === object.tenant) {
      (object.tenant.identities ?? []).forEach((identity, index) => {
        for (const subject of identity.subjects) {
          const key = `${identity.issuer} ${subject}`;
          const other = trustedBy.get(key);
          if (other !== undefined && other !== object.name) {
            errors.push({ file, kind: object.kind, name: object.name, path: `spec.identities.${index}.subjects`, message: `"${subject}" of issuer "${identity.issuer}" is already trusted by CSMTenant "${other}"` });
          }
          trustedBy.set(key, object.name);
        }
      });
      for (const role of object.tenant.roles) {
        if (!roles.has(role)) errors.push({ file, kind: object.kind, name: object.name, path: 'spec.roles', message: `role "${role}" does not exist (no CSMRole named "${role}")` });
      }
    }
    if (object.kind === 'CSMRole' && roles.get(object.name) === object.role) {
      const { systemType, systemID } = object.role;
      if (!storage.has(storageKey(systemType, systemID))) {
        errors.push({ file, kind: object.kind, name: object.name, path: 'spec.systemID', message: `no Storage of type ${systemType} has systemID "${systemID}"` });
      }
    }
  }

  return errors.length ? { ok: false, errors } : { ok: true, snapshot: Object.freeze({ generation, tenants, roles, storage }) };
}

// A snapshot is shared by every request in flight; freezing turns an accidental write into an
// error at the culprit instead of a silent change to everyone's configuration.
function freezeDeep<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) freezeDeep(inner);
  }
  return value;
}

/** True when two snapshots hold the same resources (generation aside): nothing to announce. */
export function sameResources(a: ResourceSnapshot, b: ResourceSnapshot): boolean {
  return canonical(a) === canonical(b);
}

function canonical(snapshot: ResourceSnapshot): string {
  const sorted = (map: ReadonlyMap<string, unknown>) => [...map.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return JSON.stringify([sorted(snapshot.tenants), sorted(snapshot.roles), sorted(snapshot.storage)]);
}
