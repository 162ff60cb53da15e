// The floor for Envoy's other ext_authz transport (`http_service`): the cheapest HTTP/1.1
// authorization service Node makes, answering every check 200 with fixed headers, run as its own
// process. bench/ext-authz-transport.ts sets it beside the gRPC floor (floor.ts). Headers to set: a
// JSON object in argv[2].
import http from 'node:http';
import { serveIpc } from './support/ipc.js';

const headers = { ...(JSON.parse(process.argv[2] ?? '{}') as Record<string, string>), 'content-length': '0' };
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end();
  });
});
// Envoy keeps its connections to the authorization cluster open.
server.keepAliveTimeout = 600_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  serveIpc({ port: typeof address === 'object' && address ? address.port : 0 }, () => Promise.resolve(null));
});
