// Large array listings (reconciliation's inventory) read as a stream: an array answering with every
// one of its 10^5 volumes sends a JSON document of 10^8 bytes, and reading it whole and parsing it
// with JSON.parse holds the text and every object at once (≈ 400 MiB of heap for 100,000 PowerFlex
// volumes). stream-json (a maintained streaming tokenizer, with stream-chain its pipeline) turns the
// body into tokens chunk by chunk; only the top-level scalar fields the caller names are kept of
// each element, so memory is one network chunk plus the elements of one slice of it.
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { setImmediate as turn } from 'node:timers/promises';
import { getManyValues, none } from 'stream-chain';
import type { Many } from 'stream-chain/defs.js';
import { fun } from 'stream-chain/fun.js';
import { parser } from 'stream-json/parser.js';

type Token = parser.Token;

/** A scalar JSON value as a field of a listed element (numbers as JSON.parse reads them). */
export type Scalar = string | number | boolean | null;

/**
 * Bytes tokenised before decisions on the event loop get a turn. The tokeniser works through a
 * whole network chunk synchronously: a 10^5-volume listing arriving in chunks of a few hundred KiB
 * held the loop for up to ~100 ms per chunk in a reconciliation pass (bench/reconcile-stall.ts
 * --committed, profiled); 16 KiB takes about a millisecond.
 */
const BYTES_PER_TURN = 16 * 1024;

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
  // Called directly, not as a stream: a stream's buffers hand the tokeniser several slices in one
  // go, which is the stall the slices are there to prevent. Leaving the loop early destroys the body.
  // `none` ends the input (the tokeniser then refuses JSON that broke off); stream-chain's typings
  // of `fun` leave that call out.
  const elementsOf = fun(parser({ packValues: true, streamValues: false }), pick) as (text: string | typeof none) => Many<unknown> | Promise<Many<unknown>>;
  const picked = async function* (text: string | typeof none) {
    for (const element of getManyValues(await elementsOf(text))) yield element as Record<string, Scalar>;
  };
  // Keeps a character split across slices (or network chunks) whole.
  const utf8 = new StringDecoder('utf8');
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let at = 0; at < bytes.length; at += BYTES_PER_TURN) {
      if (at > 0) await turn();
      yield* picked(utf8.write(bytes.subarray(at, at + BYTES_PER_TURN)));
    }
  }
  yield* picked(utf8.end());
  yield* picked(none);
  if (!sawArray) throw new Error('not a JSON array');
}

/** Every item of a listing, in order (tests, and callers that need the whole of a small one). */
export async function collected<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
