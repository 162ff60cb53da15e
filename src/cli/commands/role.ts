// `authzctl role create|get|list|update|delete`: CSMRole objects, each a quota on one pool of one array.
import type { Command } from 'commander';
import type { LoadedObject } from '../../resources/load.js';
import type { Role } from '../../resources/types.js';
import { CliError } from '../errors.js';
import { formatKiB, type Column, type Io } from '../output.js';
import type { ObjectStore } from '../resourceStore.js';
import { addGetAndList, assertAbsent, editable, enforcementOption, globalsOf, manifest, openStore, requireStore, saveObject } from './common.js';

interface RoleRow {
  role: Role;
  /** Tenants bound to the role. */
  tenants: string[];
}

const ROLE_COLUMNS: Column<RoleRow>[] = [
  { header: 'NAME', value: (r) => r.role.name },
  { header: 'SYSTEM', value: (r) => `${r.role.systemType}/${r.role.systemID}` },
  { header: 'POOL', value: (r) => r.role.pool },
  { header: 'QUOTA', value: (r) => (r.role.quota.kind === 'unlimited' ? 'unlimited' : formatKiB(r.role.quota.kib)) },
  { header: 'TENANTS', value: (r) => r.tenants.join(',') || '-' },
  { header: 'ENFORCEMENT', value: (r) => r.role.enforcement ?? 'enforce' },
];

function rowOf(store: ObjectStore, loaded: LoadedObject): RoleRow {
  if (loaded.object.kind !== 'CSMRole') throw new Error(`not a CSMRole: ${loaded.object.kind}`);
  return { role: loaded.object.role, tenants: boundTenants(store, loaded.object.name) };
}

function boundTenants(store: ObjectStore, role: string): string[] {
  return store.list('CSMTenant').flatMap((t) => (t.object.kind === 'CSMTenant' && t.object.tenant.roles.includes(role) ? [t.object.name] : []));
}

interface RoleOptions {
  name: string;
  systemType?: string;
  systemId?: string;
  pool?: string;
  quota?: string;
  enforcement?: string;
  dryRun?: boolean;
  /** karavictl's form, repeatable: name=type=systemID=pool=quota. */
  role?: string[];
}

/**
 * karavictl's `--role name=type=id=pool=quota` (reference §6.4). Its bare-number quota is KB of 1000
 * bytes (§6.1), written as `<n>KB` so it means what it meant in Dell; a quota with a unit is kept.
 */
export function karavictlRole(value: string): Required<Pick<RoleOptions, 'name' | 'systemType' | 'systemId' | 'pool' | 'quota'>> {
  const parts = value.split('=');
  if (parts.length !== 5 || parts.some((part, i) => part === '' && i !== 3)) {
    throw new CliError(`--role "${value}": expected name=type=system-id=pool=quota, e.g. gold=powerflex=7045c4cc20dffc0f=bronze=100GiB`);
  }
  const [name, systemType, systemId, pool, quota] = parts as [string, string, string, string, string];
  return { name, systemType, systemId, pool, quota: /^[0-9]+$/.test(quota) && !/^0+$/.test(quota) ? `${quota}KB` : quota };
}

/** The role the separate flags describe; each is required without --role. */
function flagRole(options: RoleOptions): Required<Pick<RoleOptions, 'name' | 'systemType' | 'systemId' | 'quota'>> & { pool?: string } {
  const missing = (['name', 'systemType', 'systemId', 'quota'] as const).filter((field) => options[field] === undefined);
  if (missing.length) {
    const flags = missing.map((field) => ({ name: '--name', systemType: '--system-type', systemId: '--system-id', quota: '--quota' })[field]);
    throw new CliError(`required option(s) ${flags.join(', ')} not specified (or use --role name=type=id=pool=quota)`);
  }
  return { name: options.name!, systemType: options.systemType!, systemId: options.systemId!, quota: options.quota!, ...(options.pool !== undefined && { pool: options.pool }) };
}

export function registerRoleCommands(program: Command, io: Io): void {
  const role = program.command('role').description('roles (CSMRole objects): a quota of provisioned capacity on one pool of one storage system');

  role
    .command('create')
    .description('create a role')
    .option('-n, --name <name>', 'role name (DNS-1123)')
    .option('--system-type <type>', 'powerflex, powermax, powerscale or powerstore')
    .option('--system-id <id>', 'system ID of a storage system created with "storage create"')
    .option('--pool <pool>', 'PowerFlex pool name, PowerMax SRP, PowerScale isiPath (PowerStore has none)')
    .option('--quota <size>', 'provisioned capacity allowed, e.g. 100GiB or 10TiB; 0 means unlimited')
    .addOption(enforcementOption("enforce (default) refuses a request over quota; report lets it through, charged, and records it as \"would deny\" (a tenant's own --enforcement overrides it)"))
    .option('--role <name=type=id=pool=quota>', "karavictl's form instead of the flags above, repeatable (a bare-number quota is KB of 1000 bytes, as in Dell)", (value: string, previous: string[] = []) => [...previous, value])
    .option('--dry-run', 'check and print the object without writing it')
    .action(async (options: RoleOptions, command: Command) => {
      const roles = options.role ? options.role.map(karavictlRole) : [flagRole(options)];
      if (options.role && options.name !== undefined) throw new CliError('give either --role name=type=id=pool=quota (repeatable) or --name with --system-type, --system-id, --quota');
      const globals = globalsOf(command);
      const store = await openStore(globals, options.dryRun);
      for (const role of roles) {
        assertAbsent(store, 'CSMRole', role.name);
        const spec: Record<string, unknown> = { quota: role.quota, systemType: role.systemType, systemID: role.systemId };
        if (role.pool) spec.pool = role.pool;
        if (options.enforcement) spec.enforcement = options.enforcement;
        await saveObject(io, globals, manifest('CSMRole', role.name, spec), { dryRun: options.dryRun, store });
      }
    });

  addGetAndList(role, io, {
    kind: 'CSMRole',
    noun: 'role',
    getDescription: 'show one role',
    listDescription: 'list roles',
    columns: ROLE_COLUMNS,
    row: rowOf,
  });

  role
    .command('update')
    .description("change a role's quota, pool, system or enforcement")
    .requiredOption('-n, --name <name>', 'role name')
    .option('--system-type <type>', 'powerflex, powermax, powerscale or powerstore')
    .option('--system-id <id>', 'system ID')
    .option('--pool <pool>', 'pool')
    .option('--quota <size>', 'e.g. 100GiB; 0 means unlimited')
    .addOption(enforcementOption('enforce or report (see role create)'))
    .option('--dry-run', 'check and print the object without writing it')
    .action(async (options: RoleOptions, command: Command) => {
      const changes = { quota: options.quota, systemType: options.systemType, systemID: options.systemId, pool: options.pool, enforcement: options.enforcement };
      if (Object.values(changes).every((value) => value === undefined)) {
        throw new CliError('nothing to update: give --quota, --pool, --system-id, --system-type or --enforcement');
      }
      const globals = globalsOf(command);
      const store = await requireStore(globals);
      const object = editable(store.get('CSMRole', options.name));
      for (const [field, value] of Object.entries(changes)) if (value !== undefined) object.spec[field] = value;
      await saveObject(io, globals, object, { dryRun: options.dryRun, store });
    });

  role
    .command('delete')
    .description('delete a role that no tenant is bound to')
    .requiredOption('-n, --name <name>', 'role name')
    .action(async (options: { name: string }, command: Command) => {
      const store = await requireStore(globalsOf(command));
      store.get('CSMRole', options.name);
      const tenants = boundTenants(store, options.name);
      if (tenants.length) {
        const unbind = tenants.map((t) => `authzctl rolebinding delete --tenant ${t} --role ${options.name}`).join('; ');
        throw new CliError(`role "${options.name}" is bound to tenant(s) ${tenants.join(', ')}; unbind it first (${unbind})`);
      }
      const file = await store.remove('CSMRole', options.name);
      io.stdout(`CSMRole "${options.name}" deleted from ${file}\n`);
    });
}
