// Creates, replaces and deletes objects in a resources directory (for authzctl). A change is
// written only if the whole directory is valid afterwards — the same check the service applies —
// so the CLI never leaves behind a directory the service would reject. Files are replaced
// atomically (temp file + rename), which the service's watcher sees as one change.
import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Document, parseAllDocuments, stringify } from 'yaml';
import type { ResourceError } from './errors.js';
import { identify, parseResourceTexts, readResourceTexts } from './load.js';
import { validateObject, type FieldError, type ResourceKind } from './objects.js';
import { buildSnapshot } from './snapshot.js';
import { API_VERSION } from './types.js';

export interface ObjectManifest {
  apiVersion: typeof API_VERSION;
  kind: ResourceKind;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

export interface ObjectChange {
  kind: ResourceKind;
  name: string;
  spec: Record<string, unknown>;
}

/** The object itself is invalid; nothing was written. */
export class InvalidObjectError extends Error {
  override name = 'InvalidObjectError';
  constructor(readonly errors: readonly FieldError[], kind: ResourceKind, name: string) {
    super(`${kind} "${name}" is invalid:\n${errors.map((e) => `  ${e.path ? `${e.path}: ` : ''}${e.message}`).join('\n')}`);
  }
}

/** The directory would be invalid after the change (e.g. a role still in use); nothing was written. */
export class RejectedChangeError extends Error {
  override name = 'RejectedChangeError';
  constructor(readonly errors: readonly ResourceError[], message: string) {
    super(message);
  }
}

export function manifest(kind: ResourceKind, name: string, spec: Record<string, unknown>): ObjectManifest {
  return { apiVersion: API_VERSION, kind, metadata: { name }, spec };
}

/** The object as a YAML document (what `kubectl apply -f` and the resources directory accept). Throws InvalidObjectError. */
export function serializeObject(kind: ResourceKind, name: string, spec: Record<string, unknown>): string {
  const object = manifest(kind, name, spec);
  const result = validateObject(object);
  if (!result.ok) throw new InvalidObjectError(result.errors, kind, name);
  return stringify(object);
}

/** Where a new object goes: `csmrole-bronze-100g.yaml`. */
export const objectFileName = (kind: ResourceKind, name: string): string => `${kind.toLowerCase()}-${name}.yaml`;

/**
 * Creates the object, or replaces it where it is already defined (keeping the other documents and
 * comments of that file). Returns the file written, relative to `dir`.
 */
export async function writeObjectFile(dir: string, change: ObjectChange): Promise<string> {
  const yamlText = serializeObject(change.kind, change.name, change.spec);
  const { texts, errors } = await readResourceTexts(dir);
  const found = locate(texts, change.kind, change.name);
  const file = found?.file ?? objectFileName(change.kind, change.name);
  let newText = yamlText;
  if (found) {
    found.documents[found.index] = new Document(manifest(change.kind, change.name, change.spec));
    newText = joinDocuments(found.documents);
  } else if (texts.has(file)) {
    throw new RejectedChangeError([], `${file} exists but does not define ${change.kind} "${change.name}"; not overwriting it`);
  }
  texts.set(file, newText);
  checkDirectory(texts, errors, `${change.kind} "${change.name}" was not written`);
  await atomicWrite(path.join(dir, file), newText);
  return file;
}

/**
 * Removes the object's document (the file too, if nothing else is in it). Returns the file it was
 * in, or undefined when no such object exists.
 */
export async function deleteObjectFile(dir: string, kind: ResourceKind, name: string): Promise<string | undefined> {
  const { texts, errors } = await readResourceTexts(dir);
  const found = locate(texts, kind, name);
  if (!found) return undefined;
  found.documents.splice(found.index, 1);
  const remaining = found.documents.filter((doc) => doc.contents !== null);
  if (remaining.length) texts.set(found.file, joinDocuments(remaining));
  else texts.delete(found.file);
  checkDirectory(texts, errors, `${kind} "${name}" was not deleted`);
  if (remaining.length) await atomicWrite(path.join(dir, found.file), texts.get(found.file)!);
  else await unlink(path.join(dir, found.file));
  return found.file;
}

interface Located {
  file: string;
  documents: Document[];
  index: number;
}

/** The file and document defining kind/name, valid or not (an invalid object can be fixed by rewriting it). */
function locate(texts: ReadonlyMap<string, string>, kind: ResourceKind, name: string): Located | undefined {
  for (const [file, text] of texts) {
    const documents = parseAllDocuments(text) as Document[];
    const index = documents.findIndex((doc) => {
      if (doc.errors.length) return false;
      try {
        const id = identify(doc.toJS());
        return id.kind === kind && id.name === name;
      } catch {
        return false; // unreadable YAML defines nothing; checkDirectory reports it
      }
    });
    if (index >= 0) return { file, documents, index };
  }
  return undefined;
}

function joinDocuments(documents: Document[]): string {
  return documents
    .map((doc) => {
      if (doc.directives) doc.directives.docStart = null; // the separator is written once, below
      return doc.toString();
    })
    .join('---\n');
}

function checkDirectory(texts: ReadonlyMap<string, string>, readErrors: ResourceError[], what: string): void {
  const { objects, errors } = parseResourceTexts(texts);
  const problems = [...readErrors, ...errors];
  if (!problems.length) {
    const build = buildSnapshot(objects, 0);
    if (build.ok) return;
    problems.push(...build.errors);
  }
  throw new RejectedChangeError(problems, `${what}: the resources directory would be invalid`);
}

async function atomicWrite(file: string, text: string): Promise<void> {
  // A dot name: the loader and the service's watcher ignore it until the rename.
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(temp, text, { mode: 0o644 });
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
