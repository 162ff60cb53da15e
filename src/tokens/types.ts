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

/** HMAC signing keys selected by `kid`; tokens without a known kid use the default key. */
export interface SigningKeySet {
  defaultKid: string;
  keys: ReadonlyMap<string, Uint8Array>;
}
