// Dell v1's management REST API (reference §1.3, §6.4) — what karavictl and the scripts around it
// send — on the same object store and checks as authzctl (src/cli/resourceStore.ts: the service's
// schema per object, then references across objects, then an atomic write the service hot-reloads).
// Admin tokens only (Dell accepted any token). Dell's statuses: 201 create, 204 change/delete,
// errors as {"error","code"}. Where our model differs, a clear refusal instead of a guess:
// - a role name is one pool of one system (Dell's role may span several: use one name per pool);
// - a storage password is never answered back, not even by the list (Dell's list returns them).
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedObject } from '../resources/load.js';
import type { ResourceKind } from '../resources/objects.js';
import type { Role, StorageSystem } from '../resources/types.js';
import { writeFileAtomic } from '../cli/atomicWrite.js';
import { CliError } from '../cli/errors.js';
import { editable, manifest } from '../cli/commands/common.js';
import { defaultName } from '../cli/commands/storage.js';
import { rolesOf } from '../cli/commands/tenant.js';
import type { Manifest, ObjectStore } from '../cli/resourceStore.js';
import type { Logger } from '../telemetry/log.js';
import { asObject, HttpError, readJsonBody } from './http.js';
import type { Reply, Route } from './handler.js';

export interface ManagedObjects {
  /** The store as it is now (a resources directory re-read per change). */
  open(): Promise<ObjectStore>;
  /** Where array credentials are written: `<secretsDir>/<secret>/{username,password}`. */
  secretsDir: string;
}

const OMITTED = '(omitted)';
const NO_CONTENT: Reply = { status: 204, body: undefined };
const CREATED: Reply = { status: 201, body: undefined };

export function managementRoutes(objects: ManagedObjects | undefined, logger: Logger): Route[] {
  // Each change reads the store, checks and writes it: one at a time, so two requests never both
  // start from the same objects and one silently undoes the other.
  let queue: Promise<unknown> = Promise.resolve();
  const change = <T>(work: (store: ObjectStore) => Promise<T>): Promise<T> => {
    const next = queue.then(async () => work(await storeOf()));
    queue = next.catch(() => undefined);
    return next;
  };
  const storeOf = async (): Promise<ObjectStore> => {
    if (!objects) throw new HttpError(501, 'this service does not manage its resources over the API (start it with a resources directory)');
    try {
      return await objects.open();
    } catch (error) {
      throw asHttpError(error, 500);
    }
  };
  const save = async (store: ObjectStore, manifest: Manifest, admin: string | undefined): Promise<void> => {
    try {
      const result = await store.save(manifest);
      logger.info({ admin, kind: manifest.kind, name: manifest.metadata.name, created: result.created }, 'object saved through the management API');
    } catch (error) {
      throw asHttpError(error, 400);
    }
  };
  const remove = async (store: ObjectStore, kind: ResourceKind, name: string, admin: string | undefined): Promise<void> => {
    try {
      await store.remove(kind, name);
      logger.info({ admin, kind, name }, 'object deleted through the management API');
    } catch (error) {
      throw asHttpError(error, 409);
    }
  };

  const route = (method: Route['method'], routePath: string, handle: Route['handle']): Route => ({ method, path: routePath, auth: 'admin', handle });

  return [
    // Tenants: {"tenant", "approve_sdc"}.
    route('POST', '/proxy/tenant/', async ({ req, admin }) => {
      const body = asObject(await readJsonBody(req));
      const name = field(body, 'tenant');
      return change(async (store) => {
        if (store.find('CSMTenant', name)) throw new HttpError(409, `tenant "${name}" already exists`);
        await save(store, manifest('CSMTenant', name, { roles: '', approveSdc: flag(body, 'approve_sdc'), revoke: false }), admin?.group);
        return CREATED;
      });
    }),
    route('PATCH', '/proxy/tenant/', async ({ req, admin }) => {
      const body = asObject(await readJsonBody(req));
      const name = field(body, 'tenant');
      return change(async (store) => {
        const tenant = existing(store, 'CSMTenant', name);
        tenant.spec.approveSdc = flag(body, 'approve_sdc');
        await save(store, tenant, admin?.group);
        return NO_CONTENT;
      });
    }),
    route('GET', '/proxy/tenant/', async ({ query }) => {
      const store = await storeOf();
      const name = query.get('name');
      if (name === null) return { status: 200, body: { tenants: store.list('CSMTenant').map((t) => ({ name: t.object.name })) } };
      const loaded = store.find('CSMTenant', name);
      if (loaded?.object.kind !== 'CSMTenant') throw new HttpError(404, `tenant "${name}" not found`);
      const { tenant } = loaded.object;
      return { status: 200, body: { name: tenant.name, roles: tenant.roles.join(','), approvesdc: tenant.approveSdc } };
    }),
    route('DELETE', '/proxy/tenant/', async ({ query, admin }) => {
      const name = query.get('name');
      if (!name) throw new HttpError(400, 'query parameter "name" is required');
      return change(async (store) => {
        existing(store, 'CSMTenant', name);
        await remove(store, 'CSMTenant', name, admin?.group);
        return NO_CONTENT;
      });
    }),
    route('POST', '/proxy/tenant/bind/', async ({ req, admin }) => {
      const body = asObject(await readJsonBody(req));
      const [name, role] = [field(body, 'tenant'), field(body, 'role')];
      return change(async (store) => {
        const tenant = existing(store, 'CSMTenant', name);
        if (!store.find('CSMRole', role)) throw new HttpError(404, `role "${role}" not found`);
        const roles = rolesOf(tenant.spec);
        if (roles.includes(role)) throw new HttpError(409, `role "${role}" is already bound to tenant "${name}"`);
        tenant.spec.roles = [...roles, role].join(',');
        await save(store, tenant, admin?.group);
        return CREATED;
      });
    }),
    route('POST', '/proxy/tenant/unbind/', async ({ req, admin }) => {
      const body = asObject(await readJsonBody(req));
      const [name, role] = [field(body, 'tenant'), field(body, 'role')];
      return change(async (store) => {
        const tenant = existing(store, 'CSMTenant', name);
        const roles = rolesOf(tenant.spec);
        if (!roles.includes(role)) throw new HttpError(404, `role "${role}" is not bound to tenant "${name}"`);
        tenant.spec.roles = roles.filter((r) => r !== role).join(',');
        await save(store, tenant, admin?.group);
        return NO_CONTENT;
      });
    }),
    route('PATCH', '/proxy/tenant/revoke/', async ({ req, admin }) => {
      const body = asObject(await readJsonBody(req));
      const name = field(body, 'tenant');
      return change(async (store) => {
        const tenant = existing(store, 'CSMTenant', name);
        tenant.spec.revoke = !flag(body, 'cancel');
        await save(store, tenant, admin?.group);
        return NO_CONTENT;
      });
    }),

    // Roles: {"name", "storageType", "systemId", "pool", "quota"}, quota a KB string (1000 bytes, §6.1).
    route('POST', '/proxy/roles/', async ({ req, admin }) => {
      const role = dellRole(asObject(await readJsonBody(req)), true);
      return change(async (store) => {
        const found = store.find('CSMRole', role.name);
        if (found?.object.kind === 'CSMRole') {
          const same = sameKey(found.object.role, role);
          throw new HttpError(409, same
            ? `role "${role.name}" already exists on ${key(role)}`
            : `role "${role.name}" already exists on ${key(found.object.role)}; a role here is one pool of one system: give the role on ${key(role)} another name`);
        }
        await save(store, manifest('CSMRole', role.name, roleSpec(role)), admin?.group);
        return CREATED;
      });
    }),
    route('PATCH', '/proxy/roles/', async ({ req, admin }) => {
      const role = dellRole(asObject(await readJsonBody(req)), true);
      return change(async (store) => {
        const object = existingRole(store, role);
        object.spec.quota = role.quota;
        await save(store, object, admin?.group);
        return NO_CONTENT;
      });
    }),
    route('GET', '/proxy/roles/', async ({ query }) => {
      const store = await storeOf();
      const roles = store.list('CSMRole').flatMap((loaded) => (loaded.object.kind === 'CSMRole' ? [loaded.object.role] : []));
      const name = query.get('name');
      if (name === null) return { status: 200, body: { roles: base64Json(dellRoles(roles)) } };
      const one = roles.filter((role) => role.name === name);
      if (one.length === 0) throw new HttpError(404, `role "${name}" not found`);
      return { status: 200, body: { role: base64Json(dellRoles(one)) } };
    }),
    route('DELETE', '/proxy/roles/', async ({ req, admin }) => {
      const role = dellRole(asObject(await readJsonBody(req)), false);
      return change(async (store) => {
        existingRole(store, role);
        await remove(store, 'CSMRole', role.name, admin?.group);
        return NO_CONTENT;
      });
    }),

    // Storage: {"StorageType", "Endpoint", "SystemId", "Username", "Password", "Insecure"}.
    route('POST', '/proxy/storage/', async ({ req, admin }) => {
      const body = asObject(await readJsonBody(req));
      const system = { type: field(body, 'StorageType'), systemID: field(body, 'SystemId'), endpoint: field(body, 'Endpoint') };
      const credentials = { username: field(body, 'Username'), password: field(body, 'Password') };
      return change(async (store) => {
        if (findStorage(store, system.type, system.systemID)) throw new HttpError(409, `storage ${system.type}/${system.systemID} already exists`);
        const name = defaultName(system.type, system.systemID);
        const object = manifest('Storage', name, {
          type: system.type, endpoint: system.endpoint, systemID: system.systemID,
          skipCertificateValidation: flag(body, 'Insecure'), storageSystemCredentials: { secret: `${name}-credentials` },
        });
        await saveWithCredentials(store, object, credentials, admin?.group);
        return CREATED;
      });
    }),
    route('PATCH', '/proxy/storage/', async ({ req, admin }) => {
      const body = asObject(await readJsonBody(req));
      const [type, systemID] = [field(body, 'StorageType'), field(body, 'SystemId')];
      return change(async (store) => {
        const object = editable(storageOrNotFound(store, type, systemID));
        object.spec.endpoint = field(body, 'Endpoint');
        object.spec.skipCertificateValidation = flag(body, 'Insecure');
        const username = optional(body, 'Username');
        if (username === undefined) await save(store, object, admin?.group);
        else await saveWithCredentials(store, object, { username, password: field(body, 'Password') }, admin?.group);
        return NO_CONTENT;
      });
    }),
    route('GET', '/proxy/storage/', async ({ query }) => {
      const store = await storeOf();
      const [type, systemID] = [query.get('StorageType'), query.get('SystemId')];
      const systems = store.list('Storage').flatMap((loaded) => (loaded.object.kind === 'Storage' ? [loaded.object.storage] : []));
      if (type === null && systemID === null) {
        const map: Record<string, Record<string, DellStorage>> = {};
        for (const system of systems) (map[system.type] ??= {})[system.systemID] = await dellStorage(system);
        return { status: 200, body: { storage: base64Json(map) } };
      }
      if (!type || !systemID) throw new HttpError(400, 'query parameters "StorageType" and "SystemId" go together');
      const system = systems.find((s) => s.type === type && s.systemID === systemID);
      if (!system) throw new HttpError(404, `storage ${type}/${systemID} not found`);
      return { status: 200, body: { storage: base64Json(await dellStorage(system)) } };
    }),
    route('DELETE', '/proxy/storage/', async ({ query, admin }) => {
      const [type, systemID] = [query.get('StorageType'), query.get('SystemId')];
      if (!type || !systemID) throw new HttpError(400, 'query parameters "StorageType" and "SystemId" are required');
      return change(async (store) => {
        const loaded = storageOrNotFound(store, type, systemID);
        await remove(store, 'Storage', loaded.object.name, admin?.group);
        return NO_CONTENT;
      });
    }),
  ];

  /** Checks the object first (so a refused object leaves no credentials behind), then writes credentials, then the object. */
  async function saveWithCredentials(store: ObjectStore, object: Manifest, credentials: { username: string; password: string }, admin: string | undefined): Promise<void> {
    try {
      await store.save(object, { dryRun: true });
    } catch (error) {
      throw asHttpError(error, 400);
    }
    const spec = object.spec as { storageSystemCredentials?: { secret?: string } } | undefined;
    const secret = spec?.storageSystemCredentials?.secret;
    if (!secret) throw new HttpError(409, `storage "${object.metadata.name}" reads its credentials through a SecretProviderClass; rotate them in the secret store`);
    const dir = path.join(objects!.secretsDir, secret);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path.join(dir, 'username'), credentials.username, 0o600);
    await writeFileAtomic(path.join(dir, 'password'), credentials.password, 0o600);
    await save(store, object, admin);
  }

  /** Dell's storage entry, the password never included. */
  async function dellStorage(system: StorageSystem): Promise<DellStorage> {
    let user = '';
    if (system.credentials.kind === 'secret' && objects) {
      user = await readFile(path.join(objects.secretsDir, system.credentials.name, 'username'), 'utf8').then((text) => text.trim(), () => '');
    }
    return { User: user, Password: OMITTED, Endpoint: system.endpoint, Insecure: system.skipCertificateValidation };
  }
}

interface DellStorage {
  User: string;
  Password: string;
  Endpoint: string;
  Insecure: boolean;
}

interface RoleKey {
  name: string;
  systemType: string;
  systemID: string;
  pool: string;
}

const key = (role: Omit<RoleKey, 'name'>): string => `${role.systemType}/${role.systemID}/${role.pool}`;
const sameKey = (a: Omit<RoleKey, 'name'>, b: Omit<RoleKey, 'name'>): boolean => key(a) === key(b);

/** Dell's role body; `quota` (required on create/update) becomes our quota string: Dell's KB are 1000 bytes. */
function dellRole(body: Record<string, unknown>, withQuota: boolean): RoleKey & { quota: string } {
  const role = { name: field(body, 'name'), systemType: field(body, 'storageType'), systemID: field(body, 'systemId'), pool: optional(body, 'pool') ?? '' };
  if (!withQuota) return { ...role, quota: '' };
  const quota = field(body, 'quota');
  if (!/^[0-9]{1,18}$/.test(quota)) throw new HttpError(400, `"quota" must be a number of KB (1000 bytes) as karavictl sends it, got ${JSON.stringify(quota)}`);
  return { ...role, quota: /^0+$/.test(quota) ? '0' : `${quota}KB` };
}

function roleSpec(role: RoleKey & { quota: string }): Record<string, unknown> {
  return { quota: role.quota, systemType: role.systemType, systemID: role.systemID, ...(role.pool && { pool: role.pool }) };
}

/** Dell's roles document with Dell's KB quotas (our KiB × 1.024, rounded down; 0 = unlimited). */
function dellRoles(roles: readonly Role[]): Record<string, unknown> {
  const document: Record<string, { system_types: Record<string, { system_ids: Record<string, { pool_quotas: Record<string, number> }> }> }> = {};
  for (const role of roles) {
    const kb = role.quota.kind === 'unlimited' ? 0 : Math.floor((role.quota.kib * 1024) / 1000);
    const types = (document[role.name] ??= { system_types: {} }).system_types;
    const systems = (types[role.systemType] ??= { system_ids: {} }).system_ids;
    (systems[role.systemID] ??= { pool_quotas: {} }).pool_quotas[role.pool] = kb;
  }
  return document;
}

function existingRole(store: ObjectStore, role: RoleKey): Manifest & { spec: Record<string, unknown> } {
  const found = store.find('CSMRole', role.name);
  if (found?.object.kind !== 'CSMRole' || !sameKey(found.object.role, role)) {
    throw new HttpError(404, `role ${role.name}=${role.systemType}=${role.systemID}=${role.pool} not found`);
  }
  return editable(found);
}

function existing(store: ObjectStore, kind: ResourceKind, name: string): Manifest & { spec: Record<string, unknown> } {
  const found = store.find(kind, name);
  if (!found) throw new HttpError(404, `${kind === 'CSMTenant' ? 'tenant' : kind} "${name}" not found`);
  return editable(found);
}

function findStorage(store: ObjectStore, type: string, systemID: string): LoadedObject | undefined {
  return store.list('Storage').find((l) => l.object.kind === 'Storage' && l.object.storage.type === type && l.object.storage.systemID === systemID);
}

function storageOrNotFound(store: ObjectStore, type: string, systemID: string): LoadedObject {
  const found = findStorage(store, type, systemID);
  if (!found) throw new HttpError(404, `storage ${type}/${systemID} not found`);
  return found;
}

function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new HttpError(400, `field "${name}" is required (a non-empty string)`);
  return value;
}

function optional(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `field "${name}" must be a string`);
  return value;
}

function flag(body: Record<string, unknown>, name: string): boolean {
  const value = body[name] ?? false;
  if (typeof value !== 'boolean') throw new HttpError(400, `field "${name}" must be true or false`);
  return value;
}

const base64Json = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');

/** The store's refusals (schema, references) are the caller's mistake; their message says what. */
function asHttpError(error: unknown, status: number): Error {
  if (error instanceof HttpError) return error;
  if (error instanceof CliError) return new HttpError(status, error.message);
  return error as Error;
}
