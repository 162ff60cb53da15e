// The floor: the cheapest Check server our stack can make (grpc-js, the same Envoy protos, an
// allow that sets fixed headers and removes one), run as its own process. Every decision of ours is
// priced as a multiple of this. Headers to set: a JSON object in argv[2] (default: one credential
// header); behind Envoy the runner passes the array credentials and the routing header.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { envoyServices } from '../src/check/protos.js';
import { NO_CHANNELZ } from '../src/check/server.js';
import type { CheckResponseMessage } from '../src/check/wire.js';
import { memoryReport, serveIpc } from './support/ipc.js';
import { TailRecorder, tailOps } from './support/tail.js';

const headers = JSON.parse(process.argv[2] ?? '{"authorization":"Basic Zmxvb3I6Zmxvb3I="}') as Record<string, string>;

const ALLOW: CheckResponseMessage = {
  status: { code: 0 },
  ok_response: {
    headers: Object.entries(headers).map(([key, value]) => ({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' })),
    headers_to_remove: ['cookie'],
  },
};

// With the same server options as ours (channelz off): the floor is the cheapest grpc-js Check.
const server = new grpc.Server(NO_CHANNELZ);
// Envoy health-checks its authz cluster and sends no Check to a server that does not answer SERVING.
new HealthImplementation({ '': 'SERVING' }).addToServer(server);
server.addService(envoyServices().authorization, {
  Check(_call: grpc.ServerUnaryCall<unknown, CheckResponseMessage>, callback: grpc.sendUnaryData<CheckResponseMessage>) {
    callback(null, ALLOW);
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  serveIpc({ port }, tailOps(new TailRecorder(), async (body) => memoryReport((body as { gc?: boolean }).gc === true)));
});
