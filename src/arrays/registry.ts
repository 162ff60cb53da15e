// Array type → adapter. Adding an array type is adding its folder and one line here.
import type { SystemType } from '../resources/types.js';
import type { Logger } from '../telemetry/log.js';
import type { ArrayAdapter } from './types.js';
import { powerflexAdapter } from './powerflex/adapter.js';

export type AdapterRegistry = ReadonlyMap<SystemType, ArrayAdapter>;

export interface AdapterOptions {
  logger: Logger;
}

/** The adapters this build supports; a request for any other type is denied 502 "array type not supported". */
export function createAdapterRegistry(options: AdapterOptions): AdapterRegistry {
  void options; // used by the adapters registered here
  return new Map<SystemType, ArrayAdapter>([['powerflex', powerflexAdapter]]);
}
