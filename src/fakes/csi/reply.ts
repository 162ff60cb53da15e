// What a fake CSI handler answers: [error] or [null, response], turned into a gRPC callback by the plugin.
import * as grpc from '@grpc/grpc-js';

export type Reply = [grpc.ServiceError | null, unknown?];

export type CsiRequest = Record<string, unknown>;

export const ok = (response: unknown = {}): Reply => [null, response];

export const fail = (code: grpc.status, details: string): Reply => [Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() }) as grpc.ServiceError];

/** The spec's InvalidArgument for the first required field the request lacks (proto3: '' or null when unset). */
export function missingField(request: CsiRequest, fields: readonly string[]): Reply | undefined {
  const missing = fields.find((field) => {
    const value = request[field];
    return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
  });
  return missing === undefined ? undefined : fail(grpc.status.INVALID_ARGUMENT, `${missing} is required`);
}
