// The PowerFlex face of the ArrayAdapter contract: classification (pure), the local login answer,
// lookups and credentials through PowerFlexClient, and errors in PowerFlex's shape.
import type { HeaderSet } from '../../pipeline/types.js';
import { oncePerObject } from '../session.js';
import { sessionTag } from '../sessionTag.js';
import type { ArrayAdapter, LocalAnswer, Operation } from '../types.js';
import { classifyPowerFlex } from './classify.js';
import { authorizationOf, PowerFlexClient, type GatewaySession, type PowerFlexClientOptions } from './client.js';
import { powerflexErrorBody } from './errors.js';

/**
 * The token the driver receives from its (intercepted) login. It is not a credential: the driver's
 * later `Authorization` is replaced by the sidecar's tenant token and then by the array's own.
 * The value is Dell's, so anything that recognises Dell's spoof recognises ours.
 */
export const SPOOFED_LOGIN_TOKEN = 'hellofromkaravi';

/** The gateway's session on a forwarded request, in the scheme its generation takes (3.x Basic, 4.x Bearer). */
/** Built once per session: every allow of a session shares them (and their tag). */
const credentialHeaders = oncePerObject((session: GatewaySession): HeaderSet[] => [{ name: 'authorization', value: authorizationOf(session) }]);

/**
 * The driver's own logins, answered locally. 3.x `/api/login`: Dell's body byte for byte, the token
 * unquoted (goscaleio trims quotes, so it reads the same token either way). 4.x `/rest/auth/login`
 * (and `/rest/auth/refresh`): the token pair shape goscaleio's gateway client reads `access_token` from.
 */
function loginAnswer(path: string): LocalAnswer {
  if (path.toLowerCase().startsWith('/rest/')) {
    const body = { access_token: SPOOFED_LOGIN_TOKEN, refresh_token: SPOOFED_LOGIN_TOKEN, expires_in: 300, refresh_expires_in: 1800, token_type: 'Bearer' };
    return { status: 200, headers: [{ name: 'content-type', value: 'application/json' }], body: JSON.stringify(body) };
  }
  return { status: 200, headers: [{ name: 'content-type', value: 'text/plain; charset=utf-8' }], body: SPOOFED_LOGIN_TOKEN };
}

export interface PowerFlexAdapter extends ArrayAdapter {
  /** Stops the gateway connection pools (service shutdown, tests). */
  close(): Promise<void>;
}

export function createPowerFlexAdapter(options: PowerFlexClientOptions = {}): PowerFlexAdapter {
  const client = new PowerFlexClient(options);
  return {
    type: 'powerflex',
    // What goscaleio sends besides its credentials: the API version rides in Accept
    // (`application/json;version=…`), and the bodies are JSON.
    forwardedHeaders: ['accept', 'content-type'],
    classify: (request) => classifyPowerFlex(request),
    localAnswer: (operation: Operation, path: string) => (operation.kind === 'login' ? loginAnswer(path) : undefined),
    poolName: (system, credentials, poolId) => client.poolName(system, credentials, poolId),
    volume: (system, credentials, volumeId, lookup) => client.volume(system, credentials, volumeId, lookup),
    findVolume: (system, credentials, name) => client.findVolume(system, credentials, name),
    inventory: (system, credentials) => client.inventory(system, credentials),
    checkSystem: (system, credentials) => client.checkSystem(system, credentials),
    authorize: async (system, credentials) => credentialHeaders(await client.session(system, credentials)),
    // The tag is of the headers this session would be forwarded with, as the allow computed it.
    credentialsRejected: (system, tag) => client.sessionRefused(system, (session) => sessionTag(credentialHeaders(session)) === tag),
    errorBody: powerflexErrorBody,
    close: () => client.close(),
  };
}
