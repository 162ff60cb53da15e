// The PowerMax face of the ArrayAdapter contract: classification (pure), lookups through the
// service's own Unisphere client, Basic credentials from the Storage's secret on every forwarded
// request, and errors in Unisphere's shape.
import type { HeaderSet } from '../../pipeline/types.js';
import type { ArrayCredentials } from '../../resources/types.js';
import { oncePerObject } from '../session.js';
import type { ArrayAdapter } from '../types.js';
import { classifyPowerMax } from './classify.js';
import { basicAuthorization, PowerMaxClient, type PowerMaxClientOptions } from './client.js';
import { powermaxErrorBody } from './errors.js';

/** Built once per credentials object (the credential files keep it until a file changes). */
const credentialHeaders = oncePerObject((credentials: ArrayCredentials): HeaderSet[] => [{ name: 'authorization', value: basicAuthorization(credentials) }]);

export interface PowerMaxAdapter extends ArrayAdapter {
  close(): Promise<void>;
}

export function createPowerMaxAdapter(options: PowerMaxClientOptions = {}): PowerMaxAdapter {
  const client = new PowerMaxClient(options);
  return {
    type: 'powermax',
    // gopowermax sends the API version in Accept/Content-Type (`application/json;version=100`) and
    // names itself in Application-Type (Unisphere's audit log shows it).
    forwardedHeaders: ['accept', 'content-type', 'application-type'],
    classify: (request, systemID) => classifyPowerMax(request, systemID),
    // Unisphere has no login to intercept: gopowermax sends Basic credentials on every request.
    localAnswer: () => undefined,
    poolName: (system, credentials, storageGroupId) => client.poolName(system, credentials, storageGroupId),
    volume: (system, credentials, volumeId) => client.volume(system, credentials, volumeId),
    findVolume: (system, credentials, name) => client.findVolume(system, credentials, name),
    inventory: (system, credentials) => client.inventory(system, credentials),
    authorize: async (_system, credentials) => credentialHeaders(credentials),
    errorBody: powermaxErrorBody,
    close: () => client.close(),
  };
}
