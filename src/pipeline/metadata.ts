// Keys of the dynamic metadata an allow carries (namespace envoy.filters.http.ext_authz). Envoy's
// access log brings them back: the edge config filters on them and the confirmation reads them.
export const METADATA = {
  tenant: 'tenant',
  operation: 'operation',
  system: 'system',
  /** Comma-joined reservation ids (base64url, so never containing ','). */
  reservation: 'reservation',
  deletion: 'deletion',
  /** Fingerprint of the array credential an allow attached (arrays/sessionTag.ts), never the credential. */
  sessionTag: 'session-tag',
} as const;
