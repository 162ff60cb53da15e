// `authzctl tenant create|get|list|update|delete|revoke|trust` and `authzctl rolebinding create|delete|list`
// (a binding is a role name in CSMTenant.spec.roles).
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { LoadedObject } from '../../resources/load.js';
import type { Tenant } from '../../resources/types.js';
import { CliError } from '../errors.js';
import { printData, type Column, type Io } from '../output.js';
import type { ObjectStore } from '../resourceStore.js';
import { addGetAndList, assertAbsent, editable, enforcementOption, globalsOf, manifest, openStore, requireStore, saveObject } from './common.js';

const tenantOf = (loaded: LoadedObject): Tenant => {
  if (loaded.object.kind !== 'CSMTenant') throw new Error(`not a CSMTenant: ${loaded.object.kind}`);
  return loaded.object.tenant;
};

const TENANT_COLUMNS: Column<Tenant>[] = [
  { header: 'NAME', value: (t) => t.name },
  { header: 'ROLES', value: (t) => t.roles.join(',') || '-' },
  { header: 'APPROVE-SDC', value: (t) => String(t.approveSdc) },
  { header: 'REVOKED', value: (t) => String(t.revoke) },
  { header: 'VOLUME-PREFIX', value: (t) => t.volumePrefix ?? '-' },
  { header: 'ENFORCEMENT', value: (t) => t.enforcement ?? 'per role' },
];

interface Binding {
  tenant: string;
  role: string;
}

const BINDING_COLUMNS: Column<Binding>[] = [
  { header: 'TENANT', value: (b) => b.tenant },
  { header: 'ROLE', value: (b) => b.role },
];

export function registerTenantCommands(program: Command, io: Io): void {
  const tenant = program.command('tenant').description('tenants (CSMTenant objects): one per Kubernetes cluster whose CSI drivers use the arrays');

  tenant
    .command('create')
    .description('create a tenant')
    .requiredOption('-n, --name <name>', 'tenant name (DNS-1123: lower case letters, digits, -)')
    .option('-r, --roles <roles>', 'comma-separated roles to bind now (or later with rolebinding create)')
    .option('--approve-sdc', "PowerFlex: approve the tenant's SDCs when the MDM restricts SDC access", false)
    .option('--volume-prefix <prefix>', "1-3 letters or digits put before the tenant's volume names")
    .addOption(enforcementOption("enforce or report for every role of the tenant, overriding each role's: report lets a request over quota through, charged, and records it as \"would deny\" (ownership and token denials always apply); unset, each role's enforcement decides"))
    .option('--dry-run', 'check and print the object without writing it')
    .action(async (options: { name: string; roles?: string; approveSdc: boolean; volumePrefix?: string; enforcement?: string; dryRun?: boolean }, command: Command) => {
      const globals = globalsOf(command);
      const store = await openStore(globals, options.dryRun);
      assertAbsent(store, 'CSMTenant', options.name);
      const spec: Record<string, unknown> = { approveSdc: options.approveSdc, revoke: false };
      if (options.roles) spec.roles = options.roles;
      if (options.volumePrefix !== undefined) spec.volumePrefix = options.volumePrefix;
      if (options.enforcement) spec.enforcement = options.enforcement;
      await saveObject(io, globals, manifest('CSMTenant', options.name, spec), { dryRun: options.dryRun, store });
    });

  addGetAndList(tenant, io, {
    kind: 'CSMTenant',
    noun: 'tenant',
    getDescription: 'show one tenant',
    listDescription: 'list tenants',
    columns: TENANT_COLUMNS,
    row: (_store, loaded) => tenantOf(loaded),
  });

  tenant
    .command('update')
    .description('change a tenant (roles are changed with rolebinding, revocation with revoke)')
    .requiredOption('-n, --name <name>', 'tenant name')
    .option('--approve-sdc', 'approve the tenant\'s SDCs')
    .option('--no-approve-sdc', 'stop approving the tenant\'s SDCs')
    .option('--volume-prefix <prefix>', "1-3 letters or digits put before the tenant's volume names")
    .addOption(enforcementOption('enforce or report for every role of the tenant (see tenant create)'))
    .option('--role-enforcement', "let each role's enforcement decide again (removes the tenant's)")
    .action(async (options: { name: string; approveSdc?: boolean; volumePrefix?: string; enforcement?: string; roleEnforcement?: boolean }, command: Command) => {
      if (options.approveSdc === undefined && options.volumePrefix === undefined && options.enforcement === undefined && !options.roleEnforcement) {
        throw new CliError('nothing to update: give --approve-sdc, --no-approve-sdc, --volume-prefix, --enforcement or --role-enforcement');
      }
      if (options.enforcement !== undefined && options.roleEnforcement) throw new CliError('give either --enforcement or --role-enforcement');
      await editTenant(io, command, options.name, (spec) => {
        if (options.approveSdc !== undefined) spec.approveSdc = options.approveSdc;
        if (options.volumePrefix !== undefined) spec.volumePrefix = options.volumePrefix;
        if (options.enforcement !== undefined) spec.enforcement = options.enforcement;
        if (options.roleEnforcement) delete spec.enforcement;
      });
    });

  tenant
    .command('delete')
    .description('delete a tenant (its volumes stay on the arrays and in the quota ledger)')
    .requiredOption('-n, --name <name>', 'tenant name')
    .action(async (options: { name: string }, command: Command) => {
      const store = await requireStore(globalsOf(command));
      const file = await store.remove('CSMTenant', options.name);
      io.stdout(`CSMTenant "${options.name}" deleted from ${file}\n`);
    });

  tenant
    .command('revoke')
    .description("revoke a tenant: its requests and token refreshes are refused until cancelled")
    .requiredOption('-n, --name <name>', 'tenant name')
    .option('-c, --cancel', 'cancel the revocation')
    .action(async (options: { name: string; cancel?: boolean }, command: Command) => {
      const revoke = !options.cancel;
      await editTenant(io, command, options.name, (spec) => {
        spec.revoke = revoke;
      }, revoke ? `CSMTenant "${options.name}" revoked: its requests and token refreshes are refused from now on` : `CSMTenant "${options.name}": revocation cancelled`);
    });

  tenant
    .command('trust')
    .description("trust a tenant cluster's service-account tokens for this tenant (spec.identities; one entry per issuer, replaced when given again)")
    .requiredOption('-n, --name <name>', 'tenant name')
    .requiredOption('--issuer <url>', "the tenant cluster's service-account issuer (kubectl get --raw /.well-known/openid-configuration: issuer)")
    .option('--subject <sa...>', 'service accounts acting as the tenant: system:serviceaccount:<namespace>:<name> (repeat or comma-separate)')
    .option('--audience <aud...>', 'audiences the projected token is requested for (repeat or comma-separate)', ['storage-authz'])
    .option('--jwks-uri <url>', "where the issuer's keys are served (default: the jwks_uri of <issuer>/.well-known/openid-configuration)")
    .option('--jwks-file <file>', 'the JWKS inline, for a cluster this service cannot reach (kubectl get --raw /openid/v1/jwks)')
    .option('--ca-file <file>', "CA (PEM) of the JWKS (or discovery) server's certificate, e.g. the cluster CA")
    .option('--remove', 'stop trusting this issuer for the tenant')
    .action(async (options: TrustOptions, command: Command) => {
      const identity = options.remove ? undefined : await identityOf(options);
      await editTenant(io, command, options.name, (spec) => {
        const current = Array.isArray(spec.identities) ? (spec.identities as { issuer: string }[]) : [];
        const others = current.filter((entry) => entry.issuer !== options.issuer);
        if (options.remove && others.length === current.length) throw new CliError(`tenant "${options.name}" does not trust issuer "${options.issuer}"`);
        const next = identity ? [...others, identity] : others;
        if (next.length) spec.identities = next;
        else delete spec.identities;
      }, options.remove ? `CSMTenant "${options.name}" no longer trusts issuer "${options.issuer}"` : `CSMTenant "${options.name}" trusts ${listOf(options.subject ?? []).join(', ')} of issuer "${options.issuer}"`);
    });

  const rolebinding = program.command('rolebinding').description("bindings of roles to tenants (CSMTenant spec.roles)");

  rolebinding
    .command('create')
    .description('bind a role to a tenant')
    .requiredOption('-t, --tenant <name>', 'tenant name')
    .requiredOption('-r, --role <name>', 'role name')
    .action(async (options: { tenant: string; role: string }, command: Command) => {
      await editTenant(io, command, options.tenant, (spec, store) => {
        store.get('CSMRole', options.role);
        const roles = rolesOf(spec);
        if (roles.includes(options.role)) throw new CliError(`role "${options.role}" is already bound to tenant "${options.tenant}"`);
        spec.roles = [...roles, options.role].join(',');
      }, `role "${options.role}" bound to tenant "${options.tenant}"`);
    });

  rolebinding
    .command('delete')
    .description('unbind a role from a tenant')
    .requiredOption('-t, --tenant <name>', 'tenant name')
    .requiredOption('-r, --role <name>', 'role name')
    .action(async (options: { tenant: string; role: string }, command: Command) => {
      await editTenant(io, command, options.tenant, (spec) => {
        const roles = rolesOf(spec);
        if (!roles.includes(options.role)) {
          throw new CliError(`role "${options.role}" is not bound to tenant "${options.tenant}" (bound: ${roles.join(', ') || 'none'})`);
        }
        spec.roles = roles.filter((role) => role !== options.role).join(',');
      }, `role "${options.role}" unbound from tenant "${options.tenant}"`);
    });

  rolebinding
    .command('list')
    .description('list role bindings')
    .option('-t, --tenant <name>', 'only this tenant')
    .action(async (options: { tenant?: string }, command: Command) => {
      const globals = globalsOf(command);
      const store = await requireStore(globals);
      const tenants = options.tenant ? [store.get('CSMTenant', options.tenant)] : store.list('CSMTenant');
      const bindings = tenants.flatMap((loaded) => tenantOf(loaded).roles.map((role) => ({ tenant: loaded.object.name, role })));
      if (globals.output === 'table' && bindings.length === 0) io.stderr('No role bindings.\n');
      else printData(io, globals.output, { bindings }, bindings, BINDING_COLUMNS);
    });
}

/** Loads a tenant, applies `change` to a copy of its spec, saves it and prints `message` (or "updated"). */
async function editTenant(
  io: Io,
  command: Command,
  name: string,
  change: (spec: Record<string, unknown>, store: ObjectStore) => void,
  message?: string,
): Promise<void> {
  const globals = globalsOf(command);
  const store = await requireStore(globals);
  const object = editable(store.get('CSMTenant', name));
  change(object.spec, store);
  const result = await store.save(object);
  io.stdout(`${message ?? `CSMTenant "${name}" updated`} (${result.where})\n`);
}

interface TrustOptions {
  name: string;
  issuer: string;
  subject?: string[];
  audience: string[];
  jwksUri?: string;
  jwksFile?: string;
  caFile?: string;
  remove?: boolean;
}

const listOf = (values: string[]): string[] => values.flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);

/** The spec.identities entry the flags describe; the schema checks the rest when the tenant is saved. */
async function identityOf(options: TrustOptions): Promise<Record<string, unknown>> {
  const subjects = listOf(options.subject ?? []);
  if (subjects.length === 0) throw new CliError('give --subject system:serviceaccount:<namespace>:<name> (the CSI driver\'s service accounts)');
  if (options.jwksUri && options.jwksFile) throw new CliError('give either --jwks-uri or --jwks-file, not both');
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new CliError(`${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const identity: Record<string, unknown> = { issuer: options.issuer, audiences: listOf(options.audience) };
  if (options.jwksFile) {
    try {
      identity.jwks = JSON.parse(await read(options.jwksFile, '--jwks-file')) as unknown;
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`--jwks-file ${options.jwksFile}: not JSON`);
    }
  } else {
    // Without --jwks-uri the service finds the keys by OIDC discovery of the issuer.
    if (options.jwksUri) identity.jwksUri = options.jwksUri;
    if (options.caFile) identity.caBundle = await read(options.caFile, '--ca-file');
  }
  identity.subjects = subjects;
  return identity;
}

/** The role names of a CSMTenant spec (a comma list). */
export function rolesOf(spec: Record<string, unknown>): string[] {
  const roles = typeof spec.roles === 'string' ? spec.roles : '';
  return roles.split(',').map((role) => role.trim()).filter(Boolean);
}
