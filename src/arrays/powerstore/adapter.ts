// The PowerStore face of the ArrayAdapter contract: classification (pure), the local login answer,
// lookups and the session through PowerStoreClient, and errors in PowerStore's shape.
import type { HeaderSet } from '../../pipeline/types.js';
import { oncePerObject } from '../session.js';
import { sessionTag } from '../sessionTag.js';
import type { ArrayAdapter, LocalAnswer, Operation } from '../types.js';
import { classifyPowerStore } from './classify.js';
import { CSRF_HEADER, PowerStoreClient, SESSION_COOKIE, sessionHeaders, type PowerStoreClientOptions, type PowerStoreSession } from './client.js';
import { powerstoreErrorBody } from './errors.js';

/**
 * What the driver's (intercepted) login receives: a cookie and CSRF token that are not credentials.
 * The driver's later cookie, token and `Authorization` are removed at the edge, which sets the
 * service's own session instead. Dell's spoof value, so anything that recognises Dell's recognises ours.
 */
export const SPOOFED_SESSION = 'hellofromkaravi';

/** The session as headers on a forwarded request. */
/** Built once per session: every allow of a session shares them (and their tag). */
const credentialHeaders = oncePerObject((session: PowerStoreSession): HeaderSet[] => Object.entries(sessionHeaders(session)).map(([name, value]) => ({ name, value })));

export interface PowerStoreAdapter extends ArrayAdapter {
  /** Stops the array connection pools (service shutdown, tests). */
  close(): Promise<void>;
}

export function createPowerStoreAdapter(options: PowerStoreClientOptions = {}): PowerStoreAdapter {
  const client = new PowerStoreClient(options);
  return {
    type: 'powerstore',
    // What gopowerstore sends besides its credentials: JSON bodies, the driver's name and version
    // (`Application-Type`), and `DELL-VISIBILITY: internal` for the Kubernetes metadata of a create.
    forwardedHeaders: ['accept', 'content-type', 'application-type', 'dell-visibility'],
    classify: (request) => classifyPowerStore(request),
    localAnswer(operation: Operation): LocalAnswer | undefined {
      if (operation.kind !== 'login') return undefined;
      // gopowerstore needs a 2xx JSON list, the CSRF header and the session cookie (REST API guide, "Connecting and authenticating").
      return {
        status: 200,
        headers: [
          { name: 'content-type', value: 'application/json' },
          { name: CSRF_HEADER, value: SPOOFED_SESSION },
          { name: 'set-cookie', value: `${SESSION_COOKIE}=${SPOOFED_SESSION}; Path=/; Secure; HttpOnly` },
        ],
        body: JSON.stringify([{ id: SPOOFED_SESSION, role_ids: [], idle_timeout: 3600, is_password_change_required: false, is_built_in_user: false }]),
      };
    },
    // PowerStore has no pools: the role's pool is the systemID (Dell's karavi.volumes.powerstore.create).
    poolName: async (system) => system.systemID,
    volume: (system, credentials, ref) => client.object(system, credentials, ref),
    findVolume: (system, credentials, name) => client.findByName(system, credentials, name),
    inventory: (system, credentials) => client.inventory(system, credentials),
    authorize: async (system, credentials) => credentialHeaders(await client.session(system, credentials)),
    credentialsRejected: (system, tag) => client.sessionRefused(system, (session) => sessionTag(credentialHeaders(session)) === tag),
    errorBody: powerstoreErrorBody,
    close: () => client.close(),
  };
}
