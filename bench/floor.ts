// The floor: the cheapest Check server our stack can make (grpc-js, the same Envoy protos, an
// allow that sets one header and removes one), run as its own process. Every decision of ours is
// priced as a multiple of this.
import * as grpc from '@grpc/grpc-js';
import { envoyServices } from '../src/check/protos.js';
import type { CheckResponseMessage } from '../src/check/wire.js';
import { memoryReport, serveIpc } from './support/ipc.js';

const ALLOW: CheckResponseMessage = {
  status: { code: 0 },
  ok_response: {
    headers: [{ header: { key: 'authorization', value: 'Basic Zmxvb3I6Zmxvb3I=' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    headers_to_remove: ['cookie'],
  },
};

const server = new grpc.Server();
server.addService(envoyServices().authorization, {
  Check(_call: grpc.ServerUnaryCall<unknown, CheckResponseMessage>, callback: grpc.sendUnaryData<CheckResponseMessage>) {
    callback(null, ALLOW);
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  serveIpc({ port }, async (body) => memoryReport((body as { gc?: boolean }).gc === true));
});
