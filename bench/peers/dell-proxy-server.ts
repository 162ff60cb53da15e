// Dell's v1 proxy-server (CSM for Authorization v1.14.0, built by scripts/build-dell-proxy-server.sh
// from a copy of Dell's repository; none of its code is here) as the tenant-facing server in front
// of the fake PowerFlex gateway, set up as Dell's deployment runs it (reference §1.1, §1.5, §5):
// - its OPA: the real OPA CLI, `opa run --server` with Dell's v1 policies from the same tag, and
//   `package karavi.common` holding the roles as Dell's role-service writes it (roles as a policy);
// - its Redis (a real redis-server): the tenant hash and role sets as Dell's tenant-service writes
//   them; the quota keys are the proxy-server's own;
// - its config: `config.yaml` (JWT signing secret, listen/OPA/Redis addresses) in its working
//   directory, and the storage systems secret and csm-config-params at the absolute paths Dell
//   reads (/etc/karavi-authorization/…), given to it alone through a read-only overlay on /etc in
//   its own mount namespace (`unshare -m`; needs root);
// - its ingress: Dell's proxy-server speaks plain HTTP and leaves TLS to the ingress (Traefik or
//   nginx in Dell's installers), so an Envoy terminates the same HTTPS our edge Envoy does and
//   passes every request on unchanged.
// The tenant/role/storage gRPC services are not run: the data path (the only thing measured) never
// calls them (they serve the admin API and token refresh), and gRPC dials them lazily.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitForPort } from '../../src/harness/ports.js';
import { envoyBin, opaBin } from '../../src/harness/tools.js';
import type { ArraySide } from '../servers/our-service.js';
import { startPinned, type PinnedProcess } from '../support/spawn.js';
import { tenantToken } from '../world.js';

export const DELL_TAG = 'v1.14.0';
const CACHE = process.env['STORAGE_AUTHZ_CACHE'] ?? path.join(process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'), 'storage-authz');
export const dellProxyServerBin = path.join(CACHE, `dell-proxy-server-${DELL_TAG}`);
const POLICIES = path.join(CACHE, `dell-policies-${DELL_TAG}`);
const ROLE = 'bench-role';

/** Why the Dell peer cannot run here (the line scripts/build-dell-proxy-server.sh wrote), or undefined when it can. */
export function dellNotBuilt(): string | undefined {
  if (existsSync(dellProxyServerBin) && existsSync(POLICIES)) {
    return process.getuid?.() === 0 ? undefined : `Dell's ${DELL_TAG} proxy-server needs root here: it reads /etc/karavi-authorization/…, given to it through an overlay mount in its own mount namespace`;
  }
  const reasonFile = `${dellProxyServerBin}.not-built`;
  return existsSync(reasonFile) ? readFileSync(reasonFile, 'utf8').trim() : `Dell's ${DELL_TAG} proxy-server is not built: run bench/setup.sh (scripts/build-dell-proxy-server.sh)`;
}

/** Dell's roles document (reference §4.1), as role-service writes it into `package karavi.common` (quotas as numbers: its uint64). */
function commonRego(array: ArraySide, quotaKiB: number): string {
  const { world } = array;
  const roles = { [ROLE]: { system_types: { powerflex: { system_ids: { [world.systemId]: { pool_quotas: { [world.poolName]: quotaKiB } } } } } } };
  return `package karavi.common\ndefault roles = {}\nroles = ${JSON.stringify(roles, null, 2)}\n`;
}

/** An Envoy terminating TLS with the edge's certificate and passing every request to `upstreamPort` as is. */
function ingressBootstrap(array: ArraySide, listenPort: number, adminPort: number, upstreamPort: number): object {
  const { workspace } = array;
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: {
      listeners: [{
        name: 'ingress',
        address: { socket_address: { address: '127.0.0.1', port_value: listenPort } },
        filter_chains: [{
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
              common_tls_context: { tls_certificates: [{ certificate_chain: { filename: workspace.edgeCertFile }, private_key: { filename: workspace.edgeKeyFile } }] },
            },
          },
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'ingress',
              route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'proxy-server', timeout: '30s' } }] }] },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            },
          }],
        }],
      }],
      clusters: [{
        name: 'proxy-server',
        type: 'STATIC',
        connect_timeout: '5s',
        load_assignment: { cluster_name: 'proxy-server', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } } }] }] },
      }],
    },
  };
}

export interface DellPeer {
  /** https://127.0.0.1:<port> of the ingress (its certificate chains to the workspace's edge CA). */
  origin: string;
  /** A tenant token Dell's server accepts (HS256 with its signing secret; Dell's claims). */
  token: string;
  /** The processes on Dell's side of the path, for CPU per request. */
  processes: Array<{ name: string; pid: number }>;
  stop(): Promise<void>;
}

/**
 * Dell's proxy-server, its OPA and its ingress on `cpus` (the servers' core), its state in the Redis
 * at `redisUrl`. `quotaKiB` defaults to the world's quota.
 */
export async function startDellProxyServer(array: ArraySide, redisUrl: string, cpus: string | undefined, quotaKiB = array.world.quotaGiB * 1024 * 1024): Promise<DellPeer> {
  const why = dellNotBuilt();
  if (why) throw new Error(why);
  const { world, gateway, credentials } = array;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-dell-'));
  const started: PinnedProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const process of started.reverse()) await process.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Dell's OPA, with Dell's policies (v0 Rego) and the roles.
    writeFileSync(path.join(dir, 'common.rego'), commonRego(array, quotaKiB));
    const policies = readdirSync(POLICIES).filter((f) => f.endsWith('.rego') && f !== 'common.rego' && !f.endsWith('_test.rego')).map((f) => path.join(POLICIES, f));
    const opaPort = await freePort();
    const opa = startPinned(cpus, opaBin, ['run', '--server', '--v0-compatible', '--log-level', 'error', '--addr', `127.0.0.1:${opaPort}`, ...policies, path.join(dir, 'common.rego')]);
    started.push(opa);
    await waitForPort(opaPort);

    // The tenant as Dell's tenant-service writes it, bound to the role (reference §5.3).
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      await redis.multi()
        .hset(`tenant:${world.tenant}:data`, 'created_at', String(Math.floor(Date.now() / 1000)), 'approve_sdc', '1')
        .sadd(`tenant:${world.tenant}:roles`, ROLE)
        .sadd(`role:${ROLE}:tenants`, world.tenant)
        .exec();
    } finally {
      redis.disconnect();
    }

    const secret = randomBytes(32).toString('hex');
    const [proxyPort, debugPort] = [await freePort(), await freePort()];
    const redisAddress = new URL(redisUrl).host;
    writeFileSync(path.join(dir, 'config.yaml'), [
      'web:', `  jwtsigningsecret: "${secret}"`, `  debughost: "127.0.0.1:${debugPort}"`,
      'proxy:', `  host: "127.0.0.1:${proxyPort}"`,
      'database:', `  host: "${redisAddress}"`,
      'openpolicyagent:', `  host: "127.0.0.1:${opaPort}"`, '',
    ].join('\n'), { mode: 0o600 });
    // What Dell mounts under /etc/karavi-authorization: the storage systems secret and the log settings
    // (error level: our bench service logs nothing either).
    const layer = path.join(dir, 'etc');
    mkdirSync(path.join(layer, 'karavi-authorization/storage'), { recursive: true });
    mkdirSync(path.join(layer, 'karavi-authorization/csm-config-params'), { recursive: true });
    const system = { Endpoint: gateway.url, User: credentials.username, Password: credentials.password, Insecure: true };
    writeFileSync(path.join(layer, 'karavi-authorization/storage/storage-systems.yaml'), `storage:\n  powerflex:\n    "${world.systemId}": ${JSON.stringify(system)}\n`, { mode: 0o600 });
    writeFileSync(path.join(layer, 'karavi-authorization/csm-config-params/csm-config-params.yaml'), 'LOG_LEVEL: error\nLOG_FORMAT: text\n');
    const unused = '127.0.0.1:1';
    const script = `mount -t overlay overlay -o lowerdir=${layer}:/etc /etc && cd ${dir} && exec ${dellProxyServerBin} --redis-host ${redisAddress} --tenant-service ${unused} --role-service ${unused} --storage-service ${unused}`;
    const proxy = startPinned(cpus, 'unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
    started.push(proxy);
    await waitForPort(proxyPort);

    const [ingressPort, adminPort] = [await freePort(), await freePort()];
    const bootstrap = path.join(dir, 'ingress.json');
    writeFileSync(bootstrap, JSON.stringify(ingressBootstrap(array, ingressPort, adminPort, proxyPort)));
    const ingress = startPinned(cpus, envoyBin, ['-c', bootstrap, '--disable-hot-restart', '--concurrency', '1', '--log-level', 'warn']);
    started.push(ingress);
    await waitForPort(ingressPort);

    const token = await tenantToken(world, { defaultKid: 'dell', keys: new Map([['dell', Buffer.from(secret)]]) }, ROLE);
    return {
      origin: `https://127.0.0.1:${ingressPort}`,
      token,
      processes: [{ name: 'ingress Envoy', pid: ingress.pid }, { name: 'Dell proxy-server', pid: proxy.pid }, { name: 'Dell OPA', pid: opa.pid }],
      stop,
    };
  } catch (error) {
    const output = started.map((p) => p.output().slice(-2000)).join('\n');
    await stop();
    throw new Error(`Dell's proxy-server did not start: ${(error as Error).message}\n${output}`, { cause: error });
  }
}
