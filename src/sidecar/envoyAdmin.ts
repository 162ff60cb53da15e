// The sidecar's own Envoy's admin interface: a unix socket in the work directory by default (nothing
// else on a host-network node pod can answer there), a port on 127.0.0.1 when asked.
import http from 'node:http';

export type EnvoyAdmin = { kind: 'socket'; path: string } | { kind: 'port'; port: number };

/** GET (or POST) on the admin interface; undefined when it does not answer (not started yet, or exited). */
export function adminRequest(admin: EnvoyAdmin, target: string, method: 'GET' | 'POST' = 'GET'): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const where = admin.kind === 'socket' ? { socketPath: admin.path } : { host: '127.0.0.1', port: admin.port };
    const req = http.request({ ...where, method, path: target, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Our Envoy's `/ready` answers 200 (listeners initialised). */
export async function envoyReady(admin: EnvoyAdmin): Promise<boolean> {
  return (await adminRequest(admin, '/ready'))?.status === 200;
}

/** The stats whose names match `filter` (an RE2 regex, as Envoy's admin takes it); undefined when Envoy does not answer. */
async function stats(admin: EnvoyAdmin, filter: string): Promise<{ name: string; value?: unknown }[] | undefined> {
  const answer = await adminRequest(admin, `/stats?format=json&filter=${encodeURIComponent(filter)}`);
  if (answer?.status !== 200) return undefined;
  return (JSON.parse(answer.body) as { stats?: { name: string; value?: unknown }[] }).stats ?? [];
}

/** The value of one text stat (e.g. an SDS secret's `version_text`); undefined when Envoy does not answer. */
export async function textStat(admin: EnvoyAdmin, name: string): Promise<string | undefined> {
  const stat = (await stats(admin, `^${name.replace(/[.]/g, '\\.')}$`))?.find((s) => s.name === name);
  return typeof stat?.value === 'string' ? stat.value : undefined;
}

/** The driver's requests running now, over every array listener (`http.array_<port>.downstream_rq_active`); rejects when Envoy does not answer. */
export async function driverRequestsActive(admin: EnvoyAdmin): Promise<number> {
  const found = await stats(admin, '^http\\.array_[0-9]+\\.downstream_rq_active$');
  if (!found) throw new Error("the sidecar Envoy's admin does not answer");
  return found.reduce((sum, stat) => sum + (typeof stat.value === 'number' ? stat.value : 0), 0);
}
