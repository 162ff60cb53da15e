// The objects as authzctl edits them — a resources directory (read with the service's own loader,
// written atomically so the watching service reloads a whole file at once) or a Kubernetes
// namespace (kubernetesStore.ts) — every change checked with the service's own rules (schema per
// object, then references across objects) before anything is written.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { formatResourceError, type ResourceError } from '../resources/errors.js';
import { readResourceDirectory, type LoadedObject } from '../resources/load.js';
import { validateObject, type ResourceKind } from '../resources/objects.js';
import { buildSnapshot } from '../resources/snapshot.js';
import { writeFileAtomic } from './atomicWrite.js';
import { CliError } from './errors.js';

/** A declarative object as written in YAML: apiVersion, kind, metadata, spec. */
export type Manifest = Record<string, unknown> & { kind: ResourceKind; metadata: { name: string } };

export interface SaveResult {
  /** Where the object went: a file path, or `namespace <ns>` in Kubernetes. */
  where: string;
  created: boolean;
}

/**
 * The objects authzctl edits, wherever they live (a resources directory, a Kubernetes namespace):
 * every change is checked with the service's own rules, schema per object then references across
 * objects, before anything is written.
 */
export abstract class ObjectStore {
  /** Where the objects live, for messages: a directory, or `namespace <ns>`. */
  abstract readonly location: string;

  protected constructor(protected objects: readonly LoadedObject[]) {}

  list(kind: ResourceKind): LoadedObject[] {
    return this.objects.filter((o) => o.object.kind === kind).sort((a, b) => a.object.name.localeCompare(b.object.name));
  }

  find(kind: ResourceKind, name: string): LoadedObject | undefined {
    return this.objects.find((o) => o.object.kind === kind && o.object.name === name);
  }

  /** The object, or an error that lists what does exist (most "not found"s are typos). */
  get(kind: ResourceKind, name: string): LoadedObject {
    const found = this.find(kind, name);
    if (found) return found;
    const names = this.list(kind).map((o) => o.object.name);
    throw new CliError(`${kind} "${name}" not found in ${this.location} (${names.length ? `existing: ${names.join(', ')}` : `there is no ${kind} yet`})`);
  }

  /** Adds or replaces the object after checking it and the whole resulting set. */
  async save(manifest: Manifest, options: { dryRun?: boolean } = {}): Promise<SaveResult> {
    const loaded = checkedObject(manifest);
    const existing = this.find(loaded.object.kind, loaded.object.name);
    const where = this.place(loaded, existing);
    const next = existing ? this.objects.map((o) => (o === existing ? loaded : o)) : [...this.objects, loaded];
    assertConsistent(next);
    if (!options.dryRun) {
      await this.write(loaded, next);
      this.objects = next;
    }
    return { where, created: !existing };
  }

  /** Removes the object, refusing when something still refers to it (a role bound to a tenant, say). */
  async remove(kind: ResourceKind, name: string): Promise<string> {
    const existing = this.get(kind, name);
    const next = this.objects.filter((o) => o !== existing);
    assertConsistent(next);
    const where = await this.erase(existing, next);
    this.objects = next;
    return where;
  }

  /** Decides where a new or replaced object goes (sets `loaded.file`); returns it for messages. */
  protected abstract place(loaded: LoadedObject, existing: LoadedObject | undefined): string;
  protected abstract write(loaded: LoadedObject, next: readonly LoadedObject[]): Promise<void>;
  protected abstract erase(existing: LoadedObject, next: readonly LoadedObject[]): Promise<string>;
}

/** The resources directory, read with the service's loader and written atomically (the service hot-reloads whole files). */
export class ResourceStore extends ObjectStore {
  private constructor(
    readonly dir: string,
    objects: readonly LoadedObject[],
  ) {
    super(objects);
  }

  get location(): string {
    return this.dir;
  }

  /** Reads `dir`; refuses to work on a directory the service would reject, naming every problem. */
  static async open(dir: string): Promise<ResourceStore> {
    if (!existsSync(dir)) {
      throw new CliError(`resources directory ${dir} does not exist; create it (mkdir -p ${dir}) or point --resources-dir at the directory the service loads`);
    }
    const { objects, errors } = await readResourceDirectory(dir);
    if (errors.length) throw new CliError(`${dir} has errors; fix them first (authzctl validate ${dir}):\n${describe(errors)}`);
    return new ResourceStore(dir, objects);
  }

  protected place(loaded: LoadedObject, existing: LoadedObject | undefined): string {
    loaded.file = existing?.file ?? this.freeFileName(loaded.object.kind, loaded.object.name);
    return path.join(this.dir, loaded.file);
  }

  protected write(loaded: LoadedObject, next: readonly LoadedObject[]): Promise<void> {
    return this.writeFile(loaded.file, next);
  }

  protected async erase(existing: LoadedObject, next: readonly LoadedObject[]): Promise<string> {
    await this.writeFile(existing.file, next);
    return path.join(this.dir, existing.file);
  }

  /** Rewrites `file` with the documents of `objects` that live in it, or deletes it when none is left. */
  private async writeFile(file: string, objects: readonly LoadedObject[]): Promise<void> {
    const documents = objects.filter((o) => o.file === file).map((o) => stringify(o.document));
    const absolute = path.join(this.dir, file);
    if (documents.length === 0) await rm(absolute, { force: true });
    else await writeFileAtomic(absolute, documents.join('---\n'));
  }

  private freeFileName(kind: ResourceKind, name: string): string {
    const taken = new Set(this.objects.map((o) => o.file));
    const base = `${kind.toLowerCase()}-${name}`;
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? `${base}.yaml` : `${base}-${n}.yaml`;
      if (!taken.has(candidate)) return candidate;
    }
  }
}

/** Validates one manifest alone (the --dry-run check without a resources directory). */
export function checkedObject(manifest: Manifest): LoadedObject {
  const result = validateObject(manifest);
  if (!result.ok) {
    const problems = result.errors.map((e) => `  ${e.path ? `${e.path}: ` : ''}${e.message}`).join('\n');
    throw new CliError(`invalid ${manifest.kind} "${manifest.metadata.name}", nothing was written:\n${problems}`);
  }
  return { file: '', object: result.value, document: manifest };
}

function assertConsistent(objects: readonly LoadedObject[]): void {
  const build = buildSnapshot(objects, 0);
  if (!build.ok) throw new CliError(`the change would make the resources invalid, nothing was written:\n${describe(build.errors)}`);
}

function describe(errors: readonly ResourceError[]): string {
  return errors.map((e) => `  ${formatResourceError(e)}`).join('\n');
}
