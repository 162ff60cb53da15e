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

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * Folds a key as a case-insensitive parser might: Unicode compatibility forms (`ſ`, the Kelvin sign)
 * and case. NFKC leaves printable ASCII as it is, so only other keys pay for it.
 */
const fold = (key: string): string => (PRINTABLE_ASCII.test(key) ? key : key.normalize('NFKC')).toLowerCase();

export function knownFields(names: readonly string[]): KnownFields {
  return new Map(names.map((name) => [fold(name), name]));
}

/**
 * The body as a JSON object, or a message saying why it is not one: not JSON, not an object, nested
 * deeper than MAX_DEPTH, a key repeated in one object (exactly or up to case), or a key that differs
 * only by case from a known field.
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
  const shape = textShape(text);
  if (shape.depth > MAX_DEPTH) return `request body nests deeper than ${MAX_DEPTH} levels`;
  // The common case without walking the text with jsonc-parser (about 10 µs of a create's decision):
  // JSON.parse folds an exact repeat into one key, so the body has no repeat when its text holds as
  // many keys as the parsed objects do and no object has two keys equal up to case. Anything else
  // takes the walk, which names the first problem in the text's order.
  if (distinctKeys(parsed, known) === shape.keys) return parsed as Record<string, unknown>;
  return ambiguousKey(text, known) ?? (parsed as Record<string, unknown>);
}

/**
 * Objects and arrays in objects and arrays: no array's request body comes near it, and a body nested
 * a few thousand levels deep exhausted jsonc-parser's stack (a 503 "authorization service error"
 * instead of a 400).
 */
const MAX_DEPTH = 64;

/**
 * How many keys the parsed objects have; undefined when one object has two equal up to case or a
 * known field's case variant.
 */
function distinctKeys(parsed: object, known: KnownFields): number | undefined {
  let count = 0;
  const pending: unknown[] = [parsed];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
      continue;
    }
    const names = Object.keys(value);
    count += names.length;
    const folded = new Set<string>();
    for (const name of names) {
      const key = fold(name);
      const field = known.get(key);
      if (folded.has(key) || (field !== undefined && field !== name)) return undefined;
      folded.add(key);
      pending.push((value as Record<string, unknown>)[name]);
    }
  }
  return count;
}

/** Of valid JSON text: how many keys it has, repeats included (each string followed by a colon), and how deep it nests. */
function textShape(text: string): { keys: number; depth: number } {
  let keys = 0;
  let depth = 0;
  let deepest = 0;
  for (let at = 0; at < text.length; ) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) {
      // The string's closing quote: the first one not escaped by an odd run of backslashes.
      let end = text.indexOf('"', at + 1);
      for (;;) {
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
        if (backslashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      at = end + 1;
      while (isJsonWhitespace(text.charCodeAt(at))) at++;
      if (text.charCodeAt(at) === COLON) keys++;
      continue;
    }
    if (code === OPEN_BRACE || code === OPEN_BRACKET) deepest = Math.max(deepest, ++depth);
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) depth--;
    at++;
  }
  return { keys, depth: deepest };
}

// Character codes: " \ : { } [ ]
const QUOTE = 0x22, BACKSLASH = 0x5c, COLON = 0x3a, OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d;
const isJsonWhitespace = (code: number): boolean => code === 32 || code === 9 || code === 10 || code === 13;

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
