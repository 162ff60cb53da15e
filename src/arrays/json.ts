// Strict JSON request bodies, shared by every array adapter. The decision service and the array
// must read the same values from a body, but JSON leaves duplicate keys to the parser: JSON.parse
// keeps the last `volumeSizeInKb`, a Java or Go parser may keep the first, and Go's matches field
// names case-insensitively (`VolumeSizeInKb`). So a body whose keys could be read two ways is
// refused (400, naming the key) before anything is decided on it.
//
// jsonc-parser (the parser behind VS Code's JSON support) walks the keys with their unescaped names,
// which JSON.parse does not expose; JSON.parse still decides what is valid JSON and yields the value.
import { visit } from 'jsonc-parser';

/** Field names an adapter reads from bodies, so that a case variant of one is refused even alone. */
export type KnownFields = ReadonlyMap<string, string>;

/** Folds a key as a case-insensitive parser might: Unicode compatibility forms (`ſ`, the Kelvin sign) and case. */
const fold = (key: string): string => key.normalize('NFKC').toLowerCase();

export function knownFields(names: readonly string[]): KnownFields {
  return new Map(names.map((name) => [fold(name), name]));
}

/**
 * The body as a JSON object, or a message saying why it is not one: not JSON, not an object, a key
 * repeated in one object (exactly or up to case), or a key that differs only by case from a known field.
 */
export function strictJsonObject(body: Buffer, known: KnownFields): Record<string, unknown> | string {
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'request body is not valid JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'request body must be a JSON object';
  return ambiguousKey(text, known) ?? (parsed as Record<string, unknown>);
}

/** The first key that another parser could read differently, as a message; undefined when there is none. */
function ambiguousKey(text: string, known: KnownFields): string | undefined {
  // One map per open object: folded key → the spelling seen first.
  const open: Map<string, string>[] = [];
  let problem: string | undefined;
  visit(text, {
    onObjectBegin: () => {
      open.push(new Map());
      return problem === undefined;
    },
    onObjectEnd: () => {
      open.pop();
    },
    onObjectProperty: (key) => {
      if (problem !== undefined) return;
      const seen = open.at(-1)!;
      const folded = fold(key);
      const earlier = seen.get(folded);
      const field = known.get(folded);
      if (earlier === key) problem = `request body: duplicate key ${JSON.stringify(key)}`;
      else if (earlier !== undefined) problem = `request body: keys ${JSON.stringify(earlier)} and ${JSON.stringify(key)} differ only by case`;
      else if (field !== undefined && field !== key) problem = `request body: key ${JSON.stringify(key)} differs only by case from ${JSON.stringify(field)}`;
      seen.set(folded, key);
    },
  }, { disallowComments: true, allowTrailingComma: false });
  return problem;
}

/**
 * A size or count as drivers send them: a string of digits (goscaleio, gopowermax) or a JSON number.
 * No fractions, signs, exponents or zero; undefined for anything else.
 */
export function wholeNumber(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^[0-9]{1,16}$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number > 0 ? number : undefined;
}
