// What the sidecar reads from its own Envoy's admin interface (src/envoy/admin.ts): a unix socket
// in the work directory by default, a port on 127.0.0.1 when asked.
import { adminRequest, adminStats, exactStat, type EnvoyAdmin } from '../envoy/admin.js';

/** Our Envoy's `/ready` answers 200 (listeners initialised). */
export async function envoyReady(admin: EnvoyAdmin): Promise<boolean> {
  return (await adminRequest(admin, '/ready'))?.status === 200;
}

/** The value of one text stat (e.g. an SDS secret's `version_text`); undefined when Envoy does not answer. */
export async function textStat(admin: EnvoyAdmin, name: string): Promise<string | undefined> {
  const stat = (await adminStats(admin, exactStat(name)))?.find((s) => s.name === name);
  return typeof stat?.value === 'string' ? stat.value : undefined;
}

/** The driver's requests running now, over every array listener (`http.array_<port>.downstream_rq_active`); rejects when Envoy does not answer. */
export async function driverRequestsActive(admin: EnvoyAdmin): Promise<number> {
  const found = await adminStats(admin, '^http\\.array_[0-9]+\\.downstream_rq_active$');
  if (!found) throw new Error("the sidecar Envoy's admin does not answer");
  return found.reduce((sum, stat) => sum + (typeof stat.value === 'number' ? stat.value : 0), 0);
}
