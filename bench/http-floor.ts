// The floor for Envoy's other ext_authz transport (`http_service`): the cheapest HTTP/1.1
// authorization service Node makes, answering every check 200 with fixed headers, run as its own
// process. The Check-alone section and bench/ext-authz-transport.ts set it beside the gRPC floor
// (floor.ts). Headers to set: a JSON object in argv[2] (default: floor.ts's allow, one credential
// header set and `cookie` removed).
import http from 'node:http';
import { HEADERS_TO_REMOVE } from '../src/check/httpContract.js';
import { memoryReport, serveIpc } from './support/ipc.js';
import { TailRecorder, tailOps } from './support/tail.js';

const allow = JSON.parse(process.argv[2] ?? `{"authorization":"Basic Zmxvb3I6Zmxvb3I=","${HEADERS_TO_REMOVE}":"cookie"}`) as Record<string, string>;
const headers = { ...allow, 'content-length': '0' };
const server = http.createServer((req, res) => {
  // As serve's HTTP check server: Envoy reads no Date.
  res.sendDate = false;
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
  serveIpc({ port: typeof address === 'object' && address ? address.port : 0 }, tailOps(new TailRecorder(), async (body) => memoryReport((body as { gc?: boolean }).gc === true)));
});
