// Reads a resources directory: every `*.yaml`/`*.yml` file (several `---` documents per file
// allowed), each document validated on its own, then the whole set checked by buildSnapshot.
// Only the top level is read, as a Kubernetes ConfigMap mount is flat; dot entries (`..data`,
// editor swap files) are skipped.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ResourceError } from './errors.js';
import { validateObject } from './objects.js';
import { buildSnapshot, type SnapshotBuild, type SourcedObject } from './snapshot.js';

// A ConfigMap holds at most 1 MiB; anything far larger is a mistake, not configuration.
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** A valid object with the document it was written as (for `authzctl get`, which prints it back). */
export interface LoadedObject extends SourcedObject {
  document: Record<string, unknown>;
}

export interface DirectoryContents {
  objects: LoadedObject[];
  errors: ResourceError[];
}

const isResourceFile = (name: string): boolean => !name.startsWith('.') && /\.ya?ml$/i.test(name);

/** The text of every resource file, keyed by file name, and an error for each one that cannot be read. */
async function readResourceTexts(dir: string): Promise<{ texts: Map<string, string>; errors: ResourceError[] }> {
  const texts = new Map<string, string>();
  const errors: ResourceError[] = [];
  let names: string[];
  try {
    names = (await readdir(dir)).filter(isResourceFile).sort();
  } catch (error) {
    return { texts, errors: [{ file: dir, message: `cannot read the resources directory (${errnoCode(error)})` }] };
  }
  for (const file of names) {
    const text = await readResourceFile(path.join(dir, file), file, errors);
    if (text !== undefined) texts.set(file, text);
  }
  return { texts, errors };
}

/** Every object of the directory that validates on its own, and an error for each one that does not. */
export async function readResourceDirectory(dir: string): Promise<DirectoryContents> {
  const { texts, errors } = await readResourceTexts(dir);
  const contents = parseResourceTexts(texts);
  return { objects: contents.objects, errors: [...errors, ...contents.errors] };
}

/** Reads and checks the whole directory; the snapshot gets `generation`. */
export async function loadResourceDirectory(dir: string, generation: number): Promise<SnapshotBuild> {
  const { objects, errors } = await readResourceDirectory(dir);
  if (errors.length) return { ok: false, errors };
  return buildSnapshot(objects, generation);
}

/** Parses file texts (file name → YAML) in order. */
function parseResourceTexts(texts: ReadonlyMap<string, string>): DirectoryContents {
  const objects: LoadedObject[] = [];
  const errors: ResourceError[] = [];
  for (const [file, text] of texts) {
    const parsed = parseResourceText(file, text);
    objects.push(...parsed.objects);
    errors.push(...parsed.errors);
  }
  return { objects, errors };
}

async function readResourceFile(absolute: string, file: string, errors: ResourceError[]): Promise<string | undefined> {
  try {
    const info = await stat(absolute); // follows a ConfigMap mount's symlinks
    if (!info.isFile()) return undefined;
    if (info.size > MAX_FILE_BYTES) {
      errors.push({ file, message: `file has ${info.size} bytes; at most ${MAX_FILE_BYTES} are read` });
      return undefined;
    }
    return await readFile(absolute, 'utf8');
  } catch (error) {
    errors.push({ file, message: `cannot read file (${errnoCode(error)})` });
    return undefined;
  }
}

/** The objects of one file's text (`file` names it in errors), each validated on its own. */
function parseResourceText(file: string, text: string): DirectoryContents {
  const objects: LoadedObject[] = [];
  const errors: ResourceError[] = [];
  const documents = parseAllDocuments(text); // empty for a file of only comments
  documents.forEach((doc, index) => {
    const where = documents.length > 1 ? `document ${index + 1}: ` : '';
    if (doc.errors.length) {
      for (const yamlError of doc.errors) {
        const line = yamlError.linePos?.[0]?.line;
        errors.push({ file, message: `${where}${line ? `line ${line}: ` : ''}invalid YAML: ${yamlError.message.split('\n')[0]}` });
      }
      return;
    }
    let content: unknown;
    try {
      content = doc.toJS();
    } catch (error) {
      errors.push({ file, message: `${where}invalid YAML: ${(error as Error).message}` });
      return;
    }
    if (content === null || content === undefined) return; // `---` separators around nothing
    const result = validateObject(content);
    if (result.ok) {
      objects.push({ file, object: result.value, document: content as Record<string, unknown> });
      return;
    }
    const object = identify(content);
    for (const fieldError of result.errors) {
      const located: ResourceError = { file, ...object, message: object.kind ? fieldError.message : `${where}${fieldError.message}` };
      if (fieldError.path) located.path = fieldError.path;
      errors.push(located);
    }
  });
  return { objects, errors };
}

/** kind and metadata.name of an invalid document, when they are readable, to name it in errors. */
function identify(content: unknown): { kind?: string; name?: string } {
  if (typeof content !== 'object' || content === null) return {};
  const { kind, metadata } = content as { kind?: unknown; metadata?: { name?: unknown } };
  if (typeof kind !== 'string') return {};
  return typeof metadata?.name === 'string' ? { kind, name: metadata.name } : { kind };
}

function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
