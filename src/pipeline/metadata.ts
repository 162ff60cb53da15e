// Keys of the dynamic metadata an allow carries (namespace envoy.filters.http.ext_authz). Envoy's
// access log brings them back: the edge config filters on them and the confirmation reads them.
export const METADATA = {
  tenant: 'tenant',
  operation: 'operation',
  system: 'system',
  /**
   * Comma-joined ids (base64url, so never containing ',') of the holds this request made and
   * settles: reservations, a deletion, a resize (each id names its kind).
   */
  holds: 'holds',
  /** Holds another request made that this one only found (`already-approved`): its 2xx is evidence, nothing else. */
  hints: 'hints',
  /** Fingerprint of the array credential an allow attached (arrays/sessionTag.ts), never the credential. */
  sessionTag: 'session-tag',
} as const;
