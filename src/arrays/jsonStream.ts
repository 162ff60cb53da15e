// Large array listings (reconciliation's inventory) read as a stream: an array answering with every
// one of its 10^5 volumes sends a JSON document of 10^8 bytes, and reading it whole and parsing it
// with JSON.parse holds the text and every object at once (≈ 400 MiB of heap for 100,000 PowerFlex
// volumes). stream-json (a maintained streaming tokenizer, with stream-chain its pipeline) turns the
// body into tokens chunk by chunk; only the top-level scalar fields the caller names are kept of
// each element, so memory is one network chunk plus the elements not yet consumed.
import { pipeline, type Readable } from 'node:stream';
import { chain, none } from 'stream-chain';
import { parser } from 'stream-json/parser.js';

type Token = parser.Token;

/** A scalar JSON value as a field of a listed element (numbers as JSON.parse reads them). */
export type Scalar = string | number | boolean | null;

/**
 * The object elements of a top-level JSON array, each reduced to the named top-level scalar fields
 * it has; nested objects and arrays are skipped without being built. Throws when the body is not
 * JSON, is not an array, or holds anything but objects. Stopping the iteration early destroys the body.
 */
export async function* streamedElements(body: Readable, fields: readonly string[]): AsyncGenerator<Record<string, Scalar>> {
  const wanted = new Set(fields);
  // depth 1: inside the array; 2: inside one of its elements, whose fields are read; deeper: skipped.
  let depth = 0;
  let sawArray = false;
  let key: string | undefined;
  let element: Record<string, Scalar> = {};
  const open = (array: boolean) => {
    if (depth === 0 && !array) throw new Error('not a JSON array');
    if (depth === 1 && array) throw new Error('an element of the array is not an object');
    if (depth === 0) sawArray = true;
    depth += 1;
  };
  const scalar = (value: Scalar) => {
    if (depth === 0) throw new Error('not a JSON array');
    if (depth === 1) throw new Error('an element of the array is not an object');
    if (depth === 2 && key !== undefined && wanted.has(key)) element[key] = value;
  };
  const pick = (token: Token): Record<string, Scalar> | typeof none => {
    switch (token.name) {
      case 'startObject':
      case 'startArray':
        open(token.name === 'startArray');
        return none;
      case 'endObject':
      case 'endArray': {
        depth -= 1;
        if (depth !== 1) return none;
        const done = element;
        element = {};
        return done;
      }
      case 'keyValue':
        key = token.value;
        return none;
      case 'stringValue':
        scalar(token.value);
        return none;
      case 'numberValue':
        scalar(Number(token.value));
        return none;
      case 'nullValue':
      case 'trueValue':
      case 'falseValue':
        scalar(token.value);
        return none;
      default:
        return none;
    }
  };
  const elements = chain([parser({ packValues: true, streamValues: false }), pick]);
  pipeline(body, elements, () => undefined); // an error in either destroys both; the iteration below throws it
  for await (const picked of elements) yield picked as Record<string, Scalar>;
  if (!sawArray) throw new Error('not a JSON array');
}

/** Every item of a listing, in order (tests, and callers that need the whole of a small one). */
export async function collected<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
