// What the tenant, role, rolebinding and storage commands share: building manifests, saving them
// (or printing them with --dry-run) with one success line, and printing objects in each format.
import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import type { LoadedObject } from '../../resources/load.js';
import type { ResourceKind } from '../../resources/objects.js';
import { API_VERSION, ENFORCEMENT_MODES } from '../../resources/types.js';
import type { GlobalOptions } from '../globals.js';
import { printData, type Column, type Io } from '../output.js';
import { KubernetesStore } from '../kubernetesStore.js';
import { checkedObject, ResourceStore, type Manifest, type ObjectStore } from '../resourceStore.js';
import { CliError } from '../errors.js';

export function manifest(kind: ResourceKind, name: string, spec: Record<string, unknown>): Manifest {
  return { apiVersion: API_VERSION, kind, metadata: { name }, spec };
}

/** A copy of a loaded object's document to edit (its spec as a plain record). */
export function editable(loaded: LoadedObject): Manifest & { spec: Record<string, unknown> } {
  return structuredClone(loaded.document) as Manifest & { spec: Record<string, unknown> };
}

/** `--enforcement enforce|report` of role and tenant create/update (spec.enforcement). */
export const enforcementOption = (description: string): Option => new Option('--enforcement <mode>', description).choices(ENFORCEMENT_MODES);

export const globalsOf = (command: Command): GlobalOptions => command.optsWithGlobals<GlobalOptions>();

/**
 * With --dry-run: checks the object (and, given a resources directory, the directory it would
 * join) and prints it without writing. Otherwise saves it and prints "<Kind> "<name>" <verb> in <file>".
 */
export async function saveObject(io: Io, globals: GlobalOptions, object: Manifest, options: { dryRun?: boolean; store?: ObjectStore }): Promise<void> {
  const { kind } = object;
  const { name } = object.metadata;
  if (options.dryRun) {
    if (options.store) await options.store.save(object, { dryRun: true });
    else checkedObject(object);
    printDocuments(io, globals.output === 'json' ? 'json' : 'yaml', [object]);
    io.stderr(`${kind} "${name}" is valid (dry run: nothing written)\n`);
    return;
  }
  const store = options.store ?? (await requireStore(globals));
  const result = await store.save(object);
  io.stdout(`${kind} "${name}" ${result.created ? 'created' : 'updated'} in ${result.where}\n`);
}

/** The store a dry run checks against, if one is configured; otherwise the one every command needs. */
export async function openStore(globals: GlobalOptions, dryRun = false): Promise<ObjectStore | undefined> {
  if (dryRun && !globals.resourcesDir && !globals.kubeconfig) return undefined;
  return requireStore(globals);
}

/** The resources directory when one is given, else the kubeconfig's cluster (Kubernetes mode). */
export async function requireStore(globals: GlobalOptions): Promise<ObjectStore> {
  if (globals.resourcesDir) return ResourceStore.open(globals.resourcesDir);
  if (globals.kubeconfig) return KubernetesStore.open({ kubeconfig: globals.kubeconfig, ...(globals.kubeNamespace && { namespace: globals.kubeNamespace }) });
  throw new CliError(
    '--resources-dir is required (or AUTHZCTL_RESOURCES_DIR): the directory of CSMTenant/CSMRole/Storage YAML the service loads; or --kubeconfig (or KUBECONFIG) to manage the CRs of a cluster; or use --dry-run to print the object',
  );
}

/** How one kind is shown by its `get` and `list` commands. */
export interface KindView<T> {
  kind: ResourceKind;
  /** Used in the `-n` help, e.g. "tenant". */
  noun: string;
  getDescription: string;
  listDescription: string;
  columns: readonly Column<T>[];
  row(store: ObjectStore, loaded: LoadedObject): T;
  /** An optional `list` filter option, e.g. `--type`. */
  listFilter?: { flags: string; option: string; description: string; keep(row: T, value: string): boolean };
}

/** Adds `get -n <name>` and `list` for one kind: table rows, or the documents themselves (-o yaml|json). */
export function addGetAndList<T>(parent: Command, io: Io, view: KindView<T>): void {
  parent
    .command('get')
    .description(view.getDescription)
    .requiredOption('-n, --name <name>', `${view.noun} name`)
    .action(async (options: { name: string }, command: Command) => {
      const globals = globalsOf(command);
      const store = await requireStore(globals);
      const loaded = store.get(view.kind, options.name);
      if (globals.output === 'table') printData(io, globals.output, undefined, [view.row(store, loaded)], view.columns);
      else printDocuments(io, globals.output, [loaded.document]);
    });

  const list = parent.command('list').description(view.listDescription);
  if (view.listFilter) list.option(view.listFilter.flags, view.listFilter.description);
  list.action(async (options: Record<string, string | undefined>, command: Command) => {
    const globals = globalsOf(command);
    const store = await requireStore(globals);
    const filter = view.listFilter;
    const value = filter ? options[filter.option] : undefined;
    const shown = store
      .list(view.kind)
      .map((loaded) => ({ loaded, row: view.row(store, loaded) }))
      .filter(({ row }) => !filter || value === undefined || filter.keep(row, value));
    if (globals.output !== 'table') {
      // A Kubernetes List of the documents: what `kubectl apply -f` takes back.
      printData(io, globals.output, { apiVersion: 'v1', kind: 'List', items: shown.map(({ loaded }) => loaded.document) }, [], []);
    } else if (shown.length === 0) io.stderr(`No ${view.kind} objects.\n`);
    else printData(io, globals.output, undefined, shown.map(({ row }) => row), view.columns);
  });
}

function printDocuments(io: Io, format: 'json' | 'yaml', documents: readonly unknown[]): void {
  for (const document of documents) io.stdout(format === 'json' ? `${JSON.stringify(document, null, 2)}\n` : stringify(document));
}

/** Refuses `create` of an object that exists (update is the explicit way to change it). */
export function assertAbsent(store: ObjectStore | undefined, kind: ResourceKind, name: string): void {
  const existing = store?.find(kind, name);
  if (existing) throw new CliError(`${kind} "${name}" already exists in ${existing.file}; use "update" to change it`);
}
