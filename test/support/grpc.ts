// One-shot gRPC calls for tests: a fresh client per call (closed afterwards), with a deadline.
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

type Unary = (request: unknown, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response: unknown) => void) => void;

export function unaryCall<T>(definition: grpc.ServiceDefinition, address: string, method: string, request: unknown, deadlineMs = 5000): Promise<T> {
  const Client = grpc.makeGenericClientConstructor(definition, 'TestClient');
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
  return new Promise<T>((resolve, reject) => {
    client[method]!(request, { deadline: Date.now() + deadlineMs }, (error, response) => (error ? reject(error) : resolve(response as T)));
  }).finally(() => client.close());
}

/** grpc.health.v1 status of the whole server (service ''). */
export async function healthStatus(address: string): Promise<string> {
  return (await unaryCall<{ status: string }>(healthService as grpc.ServiceDefinition, address, 'check', { service: '' })).status;
}
