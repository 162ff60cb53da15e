// The PowerScale face of the ArrayAdapter contract: classification (pure), the local answers to the
// driver's session calls, lookups and the session through PowerScaleClient, errors in OneFS's shape.
import type { HeaderSet } from '../../pipeline/types.js';
import { oncePerObject } from '../session.js';
import { sessionTag } from '../sessionTag.js';
import type { ArrayAdapter, LocalAnswer, Operation } from '../types.js';
import { classifyPowerScale } from './classify.js';
import { CSRF_COOKIE, PowerScaleClient, SESSION_COOKIE, sessionHeaders, type PowerScaleClientOptions, type PowerScaleSession } from './client.js';
import { onefsErrorBody } from './errors.js';

/** What the driver's (intercepted) login receives: cookies that are not credentials (Dell's spoof value). */
export const SPOOFED_SESSION = 'hellofromkaravi';

/** Built once per session: every allow of a session shares them (and their tag). */
const credentialHeaders = oncePerObject((session: PowerScaleSession): HeaderSet[] => Object.entries(sessionHeaders(session)).map(([name, value]) => ({ name, value })));

export interface PowerScaleAdapter extends ArrayAdapter {
  close(): Promise<void>;
}

const JSON_TYPE = { name: 'content-type', value: 'application/json' };

/**
 * The session service answered locally (reference §3.3 item 5): a login gets 201 and both cookies
 * (gopowerscale treats anything but 201 as a failure and parses the cookies from Set-Cookie, ps#1);
 * a session read gets the session; a logout gets 204 and ends nothing on the array.
 */
function sessionAnswer(path: string): LocalAnswer {
  const session = { username: 'csm-authorization', services: ['platform', 'namespace'], timeout_absolute: 14400, timeout_inactive: 900 };
  if (path.startsWith('/session/1/session/') && path.length > '/session/1/session/'.length && !path.startsWith('/session/1/session/?')) {
    // `/session/1/session/<id>`: a read or logout of one session.
    return { status: 200, headers: [JSON_TYPE], body: JSON.stringify(session) };
  }
  return {
    status: 201,
    headers: [
      JSON_TYPE,
      { name: 'set-cookie', value: `${SESSION_COOKIE}=${SPOOFED_SESSION}; path=/; HttpOnly; Secure` },
      { name: 'set-cookie', value: `${CSRF_COOKIE}=${SPOOFED_SESSION}; path=/; Secure` },
    ],
    body: JSON.stringify(session),
  };
}

export function createPowerScaleAdapter(options: PowerScaleClientOptions = {}): PowerScaleAdapter {
  const client = new PowerScaleClient(options);
  return {
    type: 'powerscale',
    // What gopowerscale sends besides its credentials: JSON bodies and, on a directory create, its
    // type, mode and the CSI metadata headers (ps#6). Copy, move and ACL headers are never forwarded.
    forwardedHeaders: ['accept', 'content-type', 'x-isi-ifs-target-type', 'x-isi-ifs-access-control', 'x-csi-pv-name', 'x-csi-pv-claimname', 'x-csi-pv-namespace'],
    classify: (request) => classifyPowerScale(request),
    localAnswer: (operation: Operation, path: string) => (operation.kind === 'login' ? sessionAnswer(path) : undefined),
    // A role's pool on PowerScale is its isiPath: the directory a volume is in.
    poolName: async (_system, _credentials, poolId) => poolId,
    volume: (system, credentials, ref) => client.object(system, credentials, ref),
    findVolume: (system, credentials, name) => client.find(system, credentials, name),
    inventory: (system, credentials, pools) => client.inventory(system, credentials, pools),
    authorize: async (system, credentials) => credentialHeaders(await client.session(system, credentials)),
    credentialsRejected: (system, tag) => client.sessionRefused(system, (session) => sessionTag(credentialHeaders(session)) === tag),
    errorBody: onefsErrorBody,
    close: () => client.close(),
  };
}
