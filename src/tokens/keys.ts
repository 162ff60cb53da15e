// Signing keys from a directory (typically a mounted Kubernetes Secret): each file name is a `kid`,
// its content an HMAC secret (HS256, Dell-compatible) or a PEM private key — EC P-256 (ES256) or
// Ed25519 (EdDSA) — whose public half is served as a JWKS so verifiers need no shared secret.
// Several keys may coexist so a new key can be introduced while tokens signed with the old one stay
// valid until its file is removed (rotation without a flag day).
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { exportJWK, type JWK } from 'jose';
import type { Logger } from '../telemetry/log.js';
import { watchAndReload, type ReloadingValue } from '../resources/watch.js';
import type { AsymmetricAlgorithm, AsymmetricSigningKey, SigningKeySet } from './types.js';

/** HS256 keys shorter than the hash output make brute-forcing a captured token practical (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;

// Defaults that appear in Dell's charts, docs and tutorials; Dell's own default is literally `secret`.
const WELL_KNOWN_SECRETS = new Set([
  'secret', 'changeme', 'change-me', 'password', 'passw0rd', 'admin', 'default', 'jwtsecret',
  'jwt-secret', 'jwtsigningsecret', 'karavi', 'csm', 'test', 'example', 'mysecret', 'supersecret',
]);

export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

/**
 * Throws a SigningKeyError naming `label` (never the secret) when the secret is too short, a
 * well-known default, or a short pattern repeated to reach the minimum length.
 */
export function assertStrongSecret(secret: string | Uint8Array, label: string): void {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  const text = bytes.toString('utf8').trim().toLowerCase();
  if (WELL_KNOWN_SECRETS.has(text)) {
    throw new SigningKeyError(`${label}: the signing secret is a well-known default; generate one with: openssl rand -base64 48`);
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new SigningKeyError(`${label}: the signing secret has ${bytes.length} bytes; at least ${MIN_SECRET_BYTES} are required (openssl rand -base64 48)`);
  }
  if (isRepetition(bytes)) {
    throw new SigningKeyError(`${label}: the signing secret is a short pattern repeated; use random bytes (openssl rand -base64 48)`);
  }
}

/** True when the bytes are one block of at most 16 bytes repeated (e.g. `secretsecretsecret…`, `aaaa…`). */
function isRepetition(bytes: Buffer): boolean {
  for (let period = 1; period <= 16 && period < bytes.length; period++) {
    let periodic = true;
    for (let i = period; i < bytes.length && periodic; i++) periodic = bytes[i] === bytes[i - period];
    if (periodic) return true;
  }
  return false;
}

/** Kubernetes writes Secret files with a trailing newline when created from a file or with echo. */
function trimOneTrailingNewline(content: Buffer): Buffer {
  if (content.length >= 2 && content[content.length - 2] === 0x0d && content[content.length - 1] === 0x0a) {
    return content.subarray(0, content.length - 2);
  }
  if (content.length >= 1 && content[content.length - 1] === 0x0a) return content.subarray(0, content.length - 1);
  return content;
}

/**
 * Reads every regular file of `dir` as a key named by its file name. Dotfiles are skipped: they
 * are the `..data`/`..<timestamp>` entries of a Kubernetes Secret mount, not keys.
 * Fails (naming the kid) on a weak secret, and when `defaultKid` is not among the keys.
 */
export async function loadSigningKeys(dir: string, defaultKid: string): Promise<SigningKeySet> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new SigningKeyError(`signing keys: cannot read directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const keys = new Map<string, Uint8Array>();
  const asymmetric = new Map<string, AsymmetricSigningKey>();
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const file = path.join(dir, name);
    let secret: Buffer;
    try {
      // stat follows the Secret mount's symlinks to the real file.
      if (!(await stat(file)).isFile()) continue;
      secret = trimOneTrailingNewline(await readFile(file));
    } catch (error) {
      throw new SigningKeyError(`signing key "${name}": cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    if (secret.subarray(0, PEM_START.length).toString('latin1') === PEM_START) {
      asymmetric.set(name, await asymmetricKey(secret, name, `signing key "${name}" (${file})`));
      continue;
    }
    assertStrongSecret(secret, `signing key "${name}" (${file})`);
    keys.set(name, new Uint8Array(secret));
  }
  if (!keys.has(defaultKid) && !asymmetric.has(defaultKid)) {
    const kids = [...keys.keys(), ...asymmetric.keys()];
    const found = kids.length ? `found: ${kids.join(', ')}` : 'the directory has no key files';
    throw new SigningKeyError(`signing keys: default key "${defaultKid}" is not a file in ${dir} (${found})`);
  }
  return { defaultKid, keys, ...(asymmetric.size ? { asymmetric } : {}) };
}

const PEM_START = '-----BEGIN';

/**
 * A PEM private key (PKCS#8 `openssl genpkey`, or SEC1 `openssl ecparam -genkey`) as a signing key;
 * its algorithm follows from the key type. Other key types are refused: RSA keys are large and
 * slow to sign with, and a verifier's allow-list of two algorithms is easy to keep.
 */
async function asymmetricKey(pem: Buffer, kid: string, label: string): Promise<AsymmetricSigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new SigningKeyError(`${label}: not a readable PEM private key`);
  }
  const alg = algorithmOf(privateKey);
  if (!alg) {
    const type = `${privateKey.asymmetricKeyType ?? 'unknown'}${privateKey.asymmetricKeyDetails?.namedCurve ? ` ${privateKey.asymmetricKeyDetails.namedCurve}` : ''}`;
    throw new SigningKeyError(`${label}: a ${type} key; only EC P-256 (ES256) and Ed25519 (EdDSA) keys are supported (openssl genpkey -algorithm ed25519)`);
  }
  const publicKey = createPublicKey(privateKey);
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, privateKey, publicKey, publicJwk };
}

function algorithmOf(key: KeyObject): AsymmetricAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return undefined;
}

/** The public keys of the asymmetric signing keys, as a JWKS (HMAC secrets are never in it). */
export function publicJwks(keys: SigningKeySet): { keys: JWK[] } {
  return { keys: [...(keys.asymmetric?.values() ?? [])].map((key) => key.publicJwk) };
}

/** The current signing keys of a watched directory. */
export type WatchedSigningKeys = ReloadingValue<SigningKeySet>;

export interface WatchSigningKeysOptions {
  logger: Logger;
  /** A change was rejected; the previous keys stay in force. */
  onRejected?: (error: Error) => void;
  debounceMs?: number;
}

/**
 * Loads the keys (failing like loadSigningKeys) and reloads them when the directory changes. An
 * invalid change (weak key, default key removed) is logged and reported, and the previous keys stay.
 */
export function watchSigningKeys(dir: string, defaultKid: string, options: WatchSigningKeysOptions): Promise<WatchedSigningKeys> {
  return watchAndReload(dir, {
    what: 'signing keys',
    load: async (previous) => {
      const next = await loadSigningKeys(dir, defaultKid);
      if (previous && !sameKeys(previous, next)) options.logger.info({ kids: [...next.keys.keys(), ...(next.asymmetric?.keys() ?? [])], defaultKid }, 'signing keys reloaded');
      return next;
    },
    equal: sameKeys,
    logger: options.logger,
    onRejected: (error) => {
      options.logger.warn({ err: (error as Error).message }, 'signing key change rejected; previous keys stay in force');
      options.onRejected?.(error as Error);
    },
    debounceMs: options.debounceMs,
  });
}

function sameKeys(a: SigningKeySet, b: SigningKeySet): boolean {
  if (a.defaultKid !== b.defaultKid || a.keys.size !== b.keys.size) return false;
  for (const [kid, secret] of a.keys) {
    const other = b.keys.get(kid);
    if (!other || !Buffer.from(other).equals(secret)) return false;
  }
  // A private key is fixed by its public half, which the JWKS shows.
  return JSON.stringify(publicJwks(a)) === JSON.stringify(publicJwks(b));
}
