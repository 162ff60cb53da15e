// Small node:http helpers for the admin API: bounded JSON bodies and Dell's JSON error shape
// `{"error": "...", "code": N}` (reference §1.3), which authzctl and Dell's karavictl both parse.
import type http from 'node:http';

/** An error whose message is safe to show the caller, with the HTTP status it maps to. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers, e.g. `Allow` on a 405. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Admin requests are small JSON documents; anything bigger is a mistake or an attack. */
export const MAX_BODY_BYTES = 64 * 1024;

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload).toString(),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

export function sendError(res: http.ServerResponse, error: HttpError): void {
  sendJson(res, error.status, { error: error.message, code: error.status }, { ...error.headers });
}

/**
 * Reads the whole body and parses it as JSON. Oversized bodies are refused as soon as the limit is
 * crossed (413), without buffering the rest; an empty or malformed body is a 400.
 */
export async function readJsonBody(req: http.IncomingMessage, limitBytes = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) throw tooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'request body is empty; expected a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

/** Narrows a parsed body to a plain object, or explains what was expected. */
export function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** An optional string field: absent → undefined; present with another type → 400 naming the field. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `field "${field}" must be a string`);
  return value;
}

export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value.trim() === '') throw new HttpError(400, `field "${field}" is required`);
  return value;
}

function tooLarge(limitBytes: number): HttpError {
  return new HttpError(413, `request body exceeds ${limitBytes} bytes`);
}
