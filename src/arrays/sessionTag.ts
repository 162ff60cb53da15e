// The session tag: an opaque fingerprint of the array credential an allow attached. It rides in the
// allow's dynamic metadata and comes back in Envoy's access log when the array answers 401, so the
// adapter can tell whether the refused credential is still the one it holds. Dynamic metadata can
// reach any log an operator adds to Envoy, so it carries this one-way hash, never the credential:
// 64 bits of sha256 of a high-entropy session token cannot be reversed, and tell sessions apart.
import { createHash } from 'node:crypto';
import type { HeaderSet } from '../pipeline/types.js';
import { oncePerObject } from './session.js';

/**
 * 16 hex characters of sha256 over the credential headers as set on the forwarded request. Computed
 * once per headers object: adapters build them once per session (oncePerObject), so every allow of
 * one session shares the tag.
 */
export const sessionTag = oncePerObject((headers: readonly HeaderSet[]): string => {
  const hash = createHash('sha256');
  for (const { name, value } of headers) hash.update(`${name.toLowerCase()}\u0000${value}\u0000`);
  return hash.digest('hex').slice(0, 16);
});
