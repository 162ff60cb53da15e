// The PowerFlex face of the ArrayAdapter contract: classification (pure), the local login answer,
// lookups and credentials through PowerFlexClient, and errors in PowerFlex's shape.
import type { HeaderSet } from '../../pipeline/types.js';
import { sessionTag } from '../sessionTag.js';
import type { ArrayAdapter, LocalAnswer, Operation } from '../types.js';
import { classifyPowerFlex } from './classify.js';
import { basicToken, PowerFlexClient, type PowerFlexClientOptions } from './client.js';
import { powerflexErrorBody } from './errors.js';

/**
 * The token the driver receives from its (intercepted) login. It is not a credential: the driver's
 * later `Authorization` is replaced by the sidecar's tenant token and then by the array's own.
 * The value is Dell's, so anything that recognises Dell's spoof recognises ours.
 */
export const SPOOFED_LOGIN_TOKEN = 'hellofromkaravi';

/** PowerFlex's token auth on a forwarded request. */
function credentialHeaders(token: string): HeaderSet[] {
  return [{ name: 'authorization', value: `Basic ${basicToken(token)}` }];
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
    localAnswer(operation: Operation): LocalAnswer | undefined {
      if (operation.kind !== 'login') return undefined;
      // goscaleio reads the login body as a JSON string, as the real gateway sends it.
      return { status: 200, headers: [{ name: 'content-type', value: 'application/json' }], body: JSON.stringify(SPOOFED_LOGIN_TOKEN) };
    },
    poolName: (system, credentials, poolId) => client.poolName(system, credentials, poolId),
    volume: (system, credentials, volumeId) => client.volume(system, credentials, volumeId),
    findVolume: (system, credentials, name) => client.findVolume(system, credentials, name),
    inventory: (system, credentials) => client.inventory(system, credentials),
    authorize: async (system, credentials) => credentialHeaders(await client.token(system, credentials)),
    // The tag is of the headers this session would be forwarded with, as the allow computed it.
    credentialsRejected: (system, tag) => client.sessionRefused(system, (token) => sessionTag(credentialHeaders(token)) === tag),
    errorBody: powerflexErrorBody,
    close: () => client.close(),
  };
}
