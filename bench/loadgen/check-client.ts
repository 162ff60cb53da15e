// One Check call as Envoy makes it: a unary RPC on one of a few long-lived HTTP/2 channels (Envoy
// opens a few connections per worker and multiplexes many streams on each).
import * as grpc from '@grpc/grpc-js';
import { envoyServices } from '../../src/check/protos.js';
import type { CheckResponseMessage } from '../../src/check/wire.js';
import { requestEncoder, type RequestSpec } from './request.js';
import type { Outcome } from './run.js';

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

/** `count` HTTP/2 connections to `target` (a local subchannel pool each: grpc-js would otherwise share one). */
export function openChannels(target: string, count: number): grpc.Client[] {
  return Array.from({ length: count }, () => new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
}

/** Calls spread round-robin over `clients`; the n-th call sends the n-th request of `spec`. */
export function checkCaller(clients: readonly grpc.Client[], spec: RequestSpec, deadlineMs: number): () => Promise<Outcome> {
  const method = envoyServices().authorization['Check'];
  if (!method) throw new Error('the Authorization service has no Check method');
  const encode = requestEncoder(spec, method.requestSerialize as (message: object) => Buffer);
  const passThrough = (bytes: Buffer): Buffer => bytes;
  let n = 0;
  return () => {
    const client = clients[n % clients.length]!;
    const message = encode(n++);
    return new Promise<Outcome>((resolve) => {
      client.makeUnaryRequest<Buffer, CheckResponseMessage>(
        CHECK_PATH,
        passThrough,
        method.responseDeserialize as (bytes: Buffer) => CheckResponseMessage,
        message,
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          if (error || !response) resolve({ kind: 'error', detail: error?.message ?? 'empty response' });
          // Go servers omit a zero code from the wire (proto3 default): absent means OK, as Envoy reads it.
          else if ((response.status?.code ?? 0) === 0) resolve({ kind: 'allow' });
          else {
            const denied = response.denied_response;
            resolve({ kind: 'deny', detail: `${denied?.status?.code ?? '?'} ${denied?.body ?? response.status?.message ?? ''}`.slice(0, 300) });
          }
        },
      );
    });
  };
}
