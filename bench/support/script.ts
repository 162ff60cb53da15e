// A standalone bench script's frame (bench/ext-authz-transport.ts, bench/edge-variants.ts): the
// compiled build, the fake array and its workspace, and whatever the script starts stopped again
// in reverse order, also when it fails.
import { startArraySide, type ArraySide } from '../servers/our-service.js';
import { buildCompiled } from './spawn.js';

export async function withArraySide(body: (array: ArraySide, stops: Array<() => Promise<void>>) => Promise<void>): Promise<void> {
  const stops: Array<() => Promise<void>> = [];
  try {
    buildCompiled();
    const array = await startArraySide();
    stops.push(() => array.stop());
    await body(array, stops);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}
