// Array type → adapter. Adding an array type is adding its folder and one line here.
import type { SystemType } from '../resources/types.js';
import { createPowerFlexAdapter } from './powerflex/adapter.js';
import { createPowerMaxAdapter } from './powermax/adapter.js';
import { createPowerScaleAdapter } from './powerscale/adapter.js';
import { CSRF_HEADER as POWERSCALE_CSRF_HEADER } from './powerscale/client.js';
import { createPowerStoreAdapter } from './powerstore/adapter.js';
import { CSRF_HEADER as POWERSTORE_CSRF_HEADER } from './powerstore/client.js';
import type { ArrayAdapter } from './types.js';

/**
 * Every header an adapter's credentials set on a forwarded request (`authorize`: Basic or Bearer
 * authorization, the PowerScale and PowerStore session cookie and CSRF header, PowerScale's referer).
 * ext_authz's http_service forwards only the headers its config names (envoy/edge.ts).
 */
export const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'referer', POWERSCALE_CSRF_HEADER, POWERSTORE_CSRF_HEADER] as const;

/** Every header an adapter's local answer (a driver login) or an error body carries to the driver. */
export const ANSWER_HEADERS = ['content-type', 'set-cookie', POWERSCALE_CSRF_HEADER, POWERSTORE_CSRF_HEADER] as const;

export type AdapterRegistry = ReadonlyMap<SystemType, ArrayAdapter>;

export interface AdapterOptions {
  /** Extra trusted CA certificates (PEM) for array TLS, e.g. a lab array's self-signed certificate. */
  ca?: string;
}

export interface Adapters {
  registry: AdapterRegistry;
  /** Closes the adapters' connection pools (service shutdown). */
  close(): Promise<void>;
}

/** The adapters this build supports; a request for any other type is denied 502 "array type not supported". */
export function createAdapters(options: AdapterOptions = {}): Adapters {
  const powerflex = createPowerFlexAdapter(options);
  const powermax = createPowerMaxAdapter(options);
  const powerstore = createPowerStoreAdapter(options);
  const powerscale = createPowerScaleAdapter(options);
  return {
    registry: new Map<SystemType, ArrayAdapter>([
      ['powerflex', powerflex],
      ['powermax', powermax],
      ['powerstore', powerstore],
      ['powerscale', powerscale],
    ]),
    close: async () => {
      await Promise.all([powerflex.close(), powermax.close(), powerstore.close(), powerscale.close()]);
    },
  };
}
