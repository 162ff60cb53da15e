// Dell-compatible JWT claims (reference §2.1). HS256; `aud` is a plain string.
export type TokenSubject = 'csm-tenant' | 'csm-admin';

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
}

/** HMAC signing keys selected by `kid`; tokens without a known kid use the default key. */
export interface SigningKeySet {
  defaultKid: string;
  keys: ReadonlyMap<string, Uint8Array>;
}
