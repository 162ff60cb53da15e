import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
// Dell-compatible JWT claims (reference §2.1). HS256; `aud` is a plain string.
export type TokenSubject = 'csm-tenant' | 'csm-admin';

/**
 * What a token is for. Ours say so in the `token_use` claim (Dell's sidecar treats tokens as opaque
 * and Dell's server ignores unknown claims); for a token without it (Dell-minted) the verifier
 * infers the kind from its lifetime (see TokenVerifier.kindOf).
 */
export type TokenKind = 'access' | 'refresh';

export interface TokenClaims {
  iss: string;
  aud: string;
  sub: TokenSubject | string;
  /** Tenant name (tenant tokens) or admin name. */
  group: string;
  /** Comma-joined role names ('' for admin tokens). */
  roles: string;
  exp: number;
  iat?: number;
  nbf?: number;
  token_use?: TokenKind;
}

/** Asymmetric algorithms this service signs its own tokens with (the public keys are served as a JWKS). */
export type AsymmetricAlgorithm = 'ES256' | 'EdDSA';

export interface AsymmetricSigningKey {
  alg: AsymmetricAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as published in the JWKS, with its `kid`, `alg` and `use: sig`. */
  publicJwk: JWK;
}

/**
 * Signing keys selected by `kid`: HMAC secrets (HS256, Dell-compatible) and asymmetric keys (ES256,
 * EdDSA), one kid space. The default key signs; an HS256 token without a known kid is verified with
 * the default key when that is an HMAC secret.
 */
export interface SigningKeySet {
  defaultKid: string;
  keys: ReadonlyMap<string, Uint8Array>;
  asymmetric?: ReadonlyMap<string, AsymmetricSigningKey>;
}
