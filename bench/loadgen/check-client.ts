// One Check call as Envoy makes it: a unary RPC on one of a few long-lived HTTP/2 channels (Envoy
// opens a few connections per worker and multiplexes many streams on each).
import * as grpc from '@grpc/grpc-js';
import { envoyServices } from '../../src/check/protos.js';
import type { CheckResponseMessage } from '../../src/check/wire.js';
import { checkRequest, type RequestSpec } from './request.js';
import type { Outcome } from './run.js';

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

export interface CheckCaller {
  call(): Promise<Outcome>;
  close(): void;
}

export function checkCaller(target: string, channels: number, spec: RequestSpec, deadlineMs: number): CheckCaller {
  const method = envoyServices().authorization['Check'];
  if (!method) throw new Error('the Authorization service has no Check method');
  // A local subchannel pool per client: otherwise grpc-js would share one connection among them.
  const clients = Array.from({ length: channels }, () => new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  let n = 0;
  return {
    call() {
      const client = clients[n % clients.length]!;
      const message = checkRequest(spec, n++);
      return new Promise<Outcome>((resolve) => {
        client.makeUnaryRequest<object, CheckResponseMessage>(
          CHECK_PATH,
          method.requestSerialize as (value: object) => Buffer,
          method.responseDeserialize as (bytes: Buffer) => CheckResponseMessage,
          message,
          { deadline: Date.now() + deadlineMs },
          (error, response) => {
            if (error || !response) resolve({ kind: 'error', detail: error?.message ?? 'empty response' });
            else if (response.status?.code === 0) resolve({ kind: 'allow' });
            else {
              const denied = response.denied_response;
              resolve({ kind: 'deny', detail: `${denied?.status?.code ?? '?'} ${denied?.body ?? response.status?.message ?? ''}`.slice(0, 300) });
            }
          },
        );
      });
    },
    close() {
      for (const client of clients) client.close();
    },
  };
}
