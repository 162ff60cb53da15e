// `tsx bench/ext-authz-transport.ts [rounds]`: what Envoy's ext_authz transport costs, measured. The
// same edge Envoy (edge.ts) in front of the fake array: with the trivial gRPC Check (floor.ts, what
// every decision of ours is priced against) and with the filter's `http_service` pointed at the
// trivial HTTP/1.1 service (http-floor.ts), both allowing with the same headers; then our service
// (one process, as shipped, both --listen and --http-check-listen) behind one edge asking over gRPC
// and one asking over HTTP, for reads and creates. wrk through each in alternating rounds. Prints
// each path's ceiling and the CPU per request of the edge, the authorization service and the array.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storageClusterName, ROUTING_HEADER } from '../src/envoy/routing.js';
import { alternatingRounds, type ScriptPath } from './loadgen/ceiling.js';
import { wrkRequest } from './loadgen/wrk.js';
import type { HttpRequestSpec } from './loadgen/http-client.js';
import { freePort } from '../src/harness/ports.js';
import { arrayToken, createBody, CREATE_PATH, edgeRenderer, READ_PATH, startEdge } from './sections/envoy.js';
import { startOurService } from './servers/our-service.js';
import { withArraySide } from './support/script.js';
import { startNodeProcess } from './support/spawn.js';
import { typedConfigs } from './support/bootstrap.js';

/** What a path sends (the origin is its edge's). */
type PathRequest = Pick<HttpRequestSpec, 'path' | 'headers' | 'body'>;

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

await withArraySide(async (array, stops) => {
  const { world } = array;
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
  const grpcBootstrap = (port: number, admin: number) => edgeConfig(port, admin, { target: `127.0.0.1:${grpcFloor.port}` }, false);
  const grpcEdge = await startEdge(grpcBootstrap, dir, 'edge-grpc', undefined);
  stops.push(() => grpcEdge.stop());
  const httpEdge = await startEdge((port, admin) => withHttpService(grpcBootstrap(port, admin), httpFloor.port!, Object.keys(allowHeaders)), dir, 'edge-http', undefined);
  stops.push(() => httpEdge.stop());

  // Our service as shipped, answering both transports from one process: the same decisions, two edges.
  const httpCheckPort = await freePort();
  const ours = await startOurService(array, { ledger: { kind: 'memory' }, cpus: '1', httpCheckListen: `127.0.0.1:${httpCheckPort}` });
  stops.push(() => ours.stop());
  const oursGrpcEdge = await startEdge((port, admin) => edgeConfig(port, admin, { target: ours.target }, true), dir, 'edge-ours-grpc', undefined);
  stops.push(() => oursGrpcEdge.stop());
  const oursHttpEdge = await startEdge((port, admin) => edgeConfig(port, admin, { target: ours.target, httpTarget: `127.0.0.1:${httpCheckPort}` }, true), dir, 'edge-ours-http', undefined);
  stops.push(() => oursHttpEdge.stop());

  const forwarded = `for=csm-authorization;${world.endpoint};${world.systemId},by=csm-authorization;csi-vxflexos`;
  const arrayProcess = { name: 'array', pid: process.pid };
  const read = { path: READ_PATH, headers: { authorization: `Bearer ${ours.token}`, forwarded } };
  let jobs = 0;
  const create = () => ({ path: CREATE_PATH, headers: { ...read.headers, 'content-type': 'application/json' }, body: createBody(world, `t${world.runId}${jobs++}-`) });
  const via = (edge: { port: number; pid: number }, service: { pid: number }, request: () => PathRequest): ScriptPath => ({
    processes: [{ name: 'edge Envoy', pid: edge.pid }, { name: 'authz service', pid: service.pid }, arrayProcess],
    options: (durationS) => ({ ...wrkRequest({ origin: `https://127.0.0.1:${edge.port}`, ...request() }), connections: 16, durationS, cpus: '0' }),
  });
  await alternatingRounds(
    {
      'floor-grpc': via(grpcEdge, grpcFloor, () => read),
      'floor-http': via(httpEdge, httpFloor, () => read),
      'ours-grpc read': via(oursGrpcEdge, ours, () => read),
      'ours-http read': via(oursHttpEdge, ours, () => read),
      'ours-grpc create': via(oursGrpcEdge, ours, create),
      'ours-http create': via(oursHttpEdge, ours, create),
    },
    { rounds, warmUpS: 4, runS: 10 },
  );
});
