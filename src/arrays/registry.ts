// Array type → adapter. Adding an array type is adding its folder and one line here.
import type { SystemType } from '../resources/types.js';
import { createPowerFlexAdapter } from './powerflex/adapter.js';
import { createPowerMaxAdapter } from './powermax/adapter.js';
import { createPowerScaleAdapter } from './powerscale/adapter.js';
import { createPowerStoreAdapter } from './powerstore/adapter.js';
import type { ArrayAdapter } from './types.js';

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
