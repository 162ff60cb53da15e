// `tsx bench/ext-authz-transport.ts [rounds]`: what Envoy's ext_authz transport costs, measured. The
// same edge Envoy (edge.ts, access log off) in front of the fake array, once with the trivial gRPC
// Check (floor.ts, what every decision of ours is priced against) and once with the filter's
// `http_service` pointed at the trivial HTTP/1.1 service (http-floor.ts), both allowing with the
// same headers; wrk through each in alternating rounds. Prints each path's ceiling and the CPU per
// request of the edge, the authorization service and the array. Not part of `npm run bench`: it
// prices a transport the product does not use (yet).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storageClusterName, ROUTING_HEADER } from '../src/envoy/routing.js';
import { cpuLogText, cpuUsPerRequest, measuredRun, type MeasuredRun } from './loadgen/ceiling.js';
import { wrkRequest } from './loadgen/wrk.js';
import { arrayToken, edgeRenderer, READ_PATH, startEdge } from './sections/envoy.js';
import { startArraySide } from './servers/our-service.js';
import { buildCompiled, startNodeProcess } from './support/spawn.js';
import { typedConfigs } from './support/bootstrap.js';
import { tenantToken } from './world.js';

const rounds = Number(process.argv[2] ?? 3);
const HTTP_AUTHZ_CLUSTER = 'authz-http';

/** The edge bootstrap with its ext_authz filter asking `port` over HTTP/1.1, the allow's `headers` passed upstream. */
function withHttpService(bootstrap: object, port: number, headers: string[]): object {
  const copy = structuredClone(bootstrap) as { static_resources: { clusters: object[] } };
  const filters = typedConfigs(copy, 'ext_authz.v3.ExtAuthz');
  if (filters.length !== 1) throw new Error(`expected one ext_authz filter in the edge bootstrap, found ${filters.length}`);
  const filter = filters[0]!;
  delete filter['grpc_service'];
  filter['http_service'] = {
    server_uri: { uri: `http://127.0.0.1:${port}`, cluster: HTTP_AUTHZ_CLUSTER, timeout: '5s' },
    authorization_response: { allowed_upstream_headers: { patterns: headers.map((exact) => ({ exact })) } },
  };
  copy.static_resources.clusters.push({
    name: HTTP_AUTHZ_CLUSTER,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: HTTP_AUTHZ_CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
  });
  return copy;
}

const stops: Array<() => Promise<void>> = [];
try {
  buildCompiled();
  const array = await startArraySide();
  stops.push(() => array.stop());
  const { workspace, world } = array;
  const asArray = { authorization: `Basic ${Buffer.from(`${array.credentials.username}:${await arrayToken(array)}`).toString('base64')}` };
  const { storage, edgeConfig } = await edgeRenderer(array, 5000);
  const allowHeaders = { ...asArray, [ROUTING_HEADER]: storageClusterName(storage[0]!) };
  const grpcFloor = await startNodeProcess('bench/floor.ts', [JSON.stringify(allowHeaders)], { cpus: '1' });
  stops.push(() => grpcFloor.stop());
  const httpFloor = await startNodeProcess('bench/http-floor.ts', [JSON.stringify(allowHeaders)], { cpus: '1' });
  stops.push(() => httpFloor.stop());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-transport-'));
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  // Both bootstraps keep the gRPC authz cluster (startEdge waits for it healthy); only the gRPC edge sends it Checks.
  const grpcBootstrap = (port: number, admin: number) => edgeConfig(port, admin, `127.0.0.1:${grpcFloor.port}`, false);
  const grpcEdge = await startEdge(grpcBootstrap, dir, 'edge-grpc', undefined);
  stops.push(() => grpcEdge.stop());
  const httpEdge = await startEdge((port, admin) => withHttpService(grpcBootstrap(port, admin), httpFloor.port!, Object.keys(allowHeaders)), dir, 'edge-http', undefined);
  stops.push(() => httpEdge.stop());

  const token = await tenantToken(world, workspace.signingKeys, workspace.roleName);
  const forwarded = `for=csm-authorization;${world.endpoint};${world.systemId},by=csm-authorization;csi-vxflexos`;
  const arrayProcess = { name: 'array', pid: process.pid };
  const paths = {
    grpc: { port: grpcEdge.port, processes: [{ name: 'edge Envoy', pid: grpcEdge.pid }, { name: 'authz service', pid: grpcFloor.pid }, arrayProcess] },
    http: { port: httpEdge.port, processes: [{ name: 'edge Envoy', pid: httpEdge.pid }, { name: 'authz service', pid: httpFloor.pid }, arrayProcess] },
  };
  const wrk = (port: number, durationS: number) => ({
    ...wrkRequest({ origin: `https://127.0.0.1:${port}`, path: READ_PATH, headers: { authorization: `Bearer ${token}`, forwarded } }),
    connections: 16,
    durationS,
    cpus: '0',
  });
  for (const { port, processes } of Object.values(paths)) await measuredRun(wrk(port, 4), processes); // warm-up, discarded
  const runs: Record<keyof typeof paths, MeasuredRun[]> = { grpc: [], http: [] };
  for (let round = 0; round < rounds; round++) {
    for (const id of round % 2 === 0 ? (['grpc', 'http'] as const) : (['http', 'grpc'] as const)) {
      const run = await measuredRun(wrk(paths[id].port, 10), paths[id].processes);
      if (run.result.non2xx + run.result.socketErrors > 0) throw new Error(`${id}: ${run.result.non2xx} non-2xx, ${run.result.socketErrors} socket errors`);
      runs[id].push(run);
      console.error(`  round ${round + 1} ${id}: ${run.result.requestsPerSecond.toFixed(0)}/s; ${cpuLogText(cpuUsPerRequest([run]))}`);
    }
  }
  for (const id of ['grpc', 'http'] as const) {
    const ceilings = runs[id].map((run) => run.result.requestsPerSecond).sort((a, b) => a - b);
    console.log(`${id}: ceiling median ${ceilings[Math.floor(ceilings.length / 2)]!.toFixed(0)}/s (${ceilings.map((c) => c.toFixed(0)).join(', ')}); ${cpuLogText(cpuUsPerRequest(runs[id]))}`);
  }
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
