// Request-path normalisation shared by every array type (DESIGN.md §5, reference §1.3/§11.1).
// A path is normalised exactly once and the same result is both classified and forwarded, so no
// encoding or dot-segment trick can make the decision service see one resource while the array
// executes another.

export type NormalisedPath =
  | { ok: true; /** Normalised path, always ending in '/', plus the untouched query ('?…') if any. */ path: string; /** The path without the query. */ pathname: string; query: string }
  | { ok: false; reason: string };

// Characters that mean the same encoded or not inside a path segment (RFC 3986 unreserved, ':'
// and '@'); their escapes are decoded so that `Volume%3A%3A1` and `%2e%2e` are seen as the array
// sees them. Every other escape is kept, upper-cased ('%20', '%3F', and '%3B', which a servlet
// container would read as a path parameter if decoded).
const DECODED_IN_SEGMENT = /^[A-Za-z0-9\-._~:@]$/;

// Escapes that would change the path's structure if the array (or anything in between) decoded
// them: '/' and '\' split segments, NUL truncates strings in C-based parsers.
const STRUCTURAL_ESCAPES = new Set(['2F', '5C', '00']);

/**
 * Normalises a raw `:path` (path plus optional query, not decoded): decodes harmless escapes,
 * rejects encoded '/', '\' and NUL, raw '\' and control characters, and ';' (a servlet container
 * strips `;…` path parameters, so `/api/logout;x` would be classified as one resource and
 * executed as another; no array API needs one), resolves '.' and '..'
 * segments (never above the root), collapses '//', and appends a trailing '/' as Dell does.
 * The query string is kept as received.
 */
export function normalisePath(raw: string): NormalisedPath {
  const queryAt = raw.indexOf('?');
  const rawPath = queryAt === -1 ? raw : raw.slice(0, queryAt);
  const query = queryAt === -1 ? '' : raw.slice(queryAt);
  if (!rawPath.startsWith('/')) return { ok: false, reason: `path must start with '/': ${printable(rawPath)}` };
  if (hasBackslashOrControl(raw)) return { ok: false, reason: `path contains a backslash or control character: ${printable(rawPath)}` };
  if (rawPath.includes(';')) return { ok: false, reason: `path parameters (';') are not accepted: ${printable(rawPath)}` };

  const decoded = decodeHarmlessEscapes(rawPath);
  if (!decoded.ok) return decoded;

  const segments: string[] = [];
  for (const segment of decoded.value.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const pathname = segments.length === 0 ? '/' : `/${segments.join('/')}/`;
  return { ok: true, path: pathname + query, pathname, query };
}

function decodeHarmlessEscapes(rawPath: string): { ok: true; value: string } | { ok: false; reason: string } {
  let out = '';
  for (let i = 0; i < rawPath.length; i++) {
    const char = rawPath[i]!;
    if (char !== '%') {
      out += char;
      continue;
    }
    const hex = rawPath.slice(i + 1, i + 3).toUpperCase();
    if (!/^[0-9A-F]{2}$/.test(hex)) return { ok: false, reason: `malformed percent-encoding in path: ${printable(rawPath)}` };
    if (STRUCTURAL_ESCAPES.has(hex)) return { ok: false, reason: `encoded '/', '\\' or NUL in path: ${printable(rawPath)}` };
    const decodedChar = String.fromCharCode(parseInt(hex, 16));
    out += DECODED_IN_SEGMENT.test(decodedChar) ? decodedChar : `%${hex}`;
    i += 2;
  }
  return { ok: true, value: out };
}

function hasBackslashOrControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x5c || code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Keeps error messages single-line and bounded: a hostile path must not forge log lines. */
function printable(value: string): string {
  const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  return JSON.stringify(shown);
}
