// What the tenant, role, rolebinding and storage commands share: building manifests, saving them
// (or printing them with --dry-run) with one success line, and printing objects in each format.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { LoadedObject } from '../../resources/load.js';
import type { ResourceKind } from '../../resources/objects.js';
import { API_VERSION } from '../../resources/types.js';
import type { GlobalOptions } from '../globals.js';
import { printData, type Column, type Io, type OutputFormat } from '../output.js';
import { checkedObject, ResourceStore, type Manifest } from '../resourceStore.js';
import { CliError } from '../errors.js';

export function manifest(kind: ResourceKind, name: string, spec: Record<string, unknown>): Manifest {
  return { apiVersion: API_VERSION, kind, metadata: { name }, spec };
}

/** A copy of a loaded object's document to edit (its spec as a plain record). */
export function editable(loaded: LoadedObject): Manifest & { spec: Record<string, unknown> } {
  return structuredClone(loaded.document) as Manifest & { spec: Record<string, unknown> };
}

export const globalsOf = (command: Command): GlobalOptions => command.optsWithGlobals<GlobalOptions>();

/**
 * With --dry-run: checks the object (and, given a resources directory, the directory it would
 * join) and prints it without writing. Otherwise saves it and prints "<Kind> "<name>" <verb> in <file>".
 */
export async function saveObject(io: Io, globals: GlobalOptions, object: Manifest, options: { dryRun?: boolean; store?: ResourceStore }): Promise<void> {
  const { kind } = object;
  const { name } = object.metadata;
  if (options.dryRun) {
    if (options.store) await options.store.save(object, { dryRun: true });
    else checkedObject(object);
    printDocuments(io, globals.output === 'json' ? 'json' : 'yaml', [object]);
    io.stderr(`${kind} "${name}" is valid (dry run: nothing written)\n`);
    return;
  }
  const store = options.store ?? (await ResourceStore.open(globals.resourcesDir));
  const result = await store.save(object);
  io.stdout(`${kind} "${name}" ${result.created ? 'created' : 'updated'} in ${result.file}\n`);
}

export async function openStore(globals: GlobalOptions, dryRun = false): Promise<ResourceStore | undefined> {
  if (dryRun && !globals.resourcesDir) return undefined;
  return ResourceStore.open(globals.resourcesDir);
}

/** `get`: one object as a table row, or its YAML/JSON document. */
export function printOne<T>(io: Io, format: OutputFormat, loaded: LoadedObject, row: T, columns: readonly Column<T>[]): void {
  if (format === 'table') printData(io, format, undefined, [row], columns);
  else printDocuments(io, format, [loaded.document]);
}

/** `list`: a table, or a Kubernetes `List` of the documents (what `kubectl apply -f` takes back). */
export function printMany<T>(io: Io, format: OutputFormat, kind: ResourceKind, loaded: readonly LoadedObject[], rows: readonly T[], columns: readonly Column<T>[]): void {
  if (format === 'table') {
    if (rows.length === 0) io.stderr(`No ${kind} objects.\n`);
    else printData(io, format, undefined, rows, columns);
    return;
  }
  printData(io, format, { apiVersion: 'v1', kind: 'List', items: loaded.map((l) => l.document) }, [], []);
}

function printDocuments(io: Io, format: 'json' | 'yaml', documents: readonly unknown[]): void {
  for (const document of documents) io.stdout(format === 'json' ? `${JSON.stringify(document, null, 2)}\n` : stringify(document));
}

/** Refuses `create` of an object that exists (update is the explicit way to change it). */
export function assertAbsent(store: ResourceStore | undefined, kind: ResourceKind, name: string): void {
  const existing = store?.find(kind, name);
  if (existing) throw new CliError(`${kind} "${name}" already exists in ${existing.file}; use "update" to change it`);
}
