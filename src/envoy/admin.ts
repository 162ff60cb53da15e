// An Envoy's admin interface, as the edge's drain hook and the sidecar reach theirs: a unix socket
// (the sidecar's default: nothing else on a host-network node pod can answer there) or host:port.
import http from 'node:http';

export type EnvoyAdmin = { kind: 'socket'; path: string } | { kind: 'port'; port: number; host?: string };

/** `host:port` (a bracketed IPv6 host too) as an admin address; undefined when it is not one. */
export function adminAddress(value: string): EnvoyAdmin | undefined {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value);
  return match ? { kind: 'port', host: match[1]!, port: Number(match[2]) } : undefined;
}

export function describeAdmin(admin: EnvoyAdmin): string {
  return admin.kind === 'socket' ? `unix:${admin.path}` : `${admin.host ?? '127.0.0.1'}:${admin.port}`;
}

/** GET (or POST) on the admin interface; undefined when it does not answer (not started yet, or exited). */
export function adminRequest(admin: EnvoyAdmin, target: string, method: 'GET' | 'POST' = 'GET'): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const where = admin.kind === 'socket' ? { socketPath: admin.path } : { host: admin.host ?? '127.0.0.1', port: admin.port };
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

/** The stats whose names match `filter` (an RE2 regex, as Envoy's admin takes it); undefined when Envoy does not answer. */
export async function adminStats(admin: EnvoyAdmin, filter: string): Promise<{ name: string; value?: unknown }[] | undefined> {
  const answer = await adminRequest(admin, `/stats?format=json&filter=${encodeURIComponent(filter)}`);
  if (answer?.status !== 200) return undefined;
  return (JSON.parse(answer.body) as { stats?: { name: string; value?: unknown }[] }).stats ?? [];
}

/** A filter matching exactly the stat `name`. */
export const exactStat = (name: string): string => `^${name.replaceAll('.', '\\.')}$`;
