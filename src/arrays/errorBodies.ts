// Each array type's error body (its errors.ts), by type: for what answers in the array's name without
// an adapter instance — the edge Envoy's own replies (an array at its concurrency limit), rendered
// into its bootstrap.
import type { SystemType } from '../resources/types.js';
import { powerflexErrorBody } from './powerflex/errors.js';
import { powermaxErrorBody } from './powermax/errors.js';
import { onefsErrorBody } from './powerscale/errors.js';
import { powerstoreErrorBody } from './powerstore/errors.js';
import type { ArrayAdapter } from './types.js';

export const ERROR_BODIES: Readonly<Record<SystemType, ArrayAdapter['errorBody']>> = {
  powerflex: powerflexErrorBody,
  powermax: powermaxErrorBody,
  powerscale: onefsErrorBody,
  powerstore: powerstoreErrorBody,
};
