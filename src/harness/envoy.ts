// Watching a real Envoy from tests through its admin interface: no pauses, only conditions.
import { request } from 'undici';
import { waitFor } from './wait.js';

/** Text of Envoy's `/clusters` admin page, or '' while the admin port does not answer. */
async function clustersPage(adminPort: number): Promise<string> {
  const response = await request(`http://127.0.0.1:${adminPort}/clusters`).catch(() => undefined);
  return response ? response.body.text() : '';
}

/** Resolves once Envoy's health checking reports `cluster` healthy (`true`) or failing (`false`). */
export async function waitForClusterHealth(adminPort: number, cluster: string, healthy: boolean, timeoutMs = 20_000): Promise<void> {
  const line = new RegExp(`^${cluster}::[^\\n]*::health_flags::healthy$`, 'm');
  await waitFor(async () => line.test(await clustersPage(adminPort)) === healthy, `Envoy cluster ${cluster} ${healthy ? 'healthy' : 'unhealthy'}`, timeoutMs);
}
