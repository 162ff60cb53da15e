import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import type { Decision, RequestView } from '../pipeline/types.js';
import { envoyServices } from './protos.js';
import { createCheckServer, type AccessLogRecord, type CheckServer } from './server.js';
import type { CheckResponseMessage } from './wire.js';

type Unary = (request: unknown, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response: never) => void) => void;

function clientFor(definition: grpc.ServiceDefinition, address: string): grpc.Client & Record<string, Unary> {
  const Client = grpc.makeGenericClientConstructor(definition, 'client');
  return new Client(address, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Unary>;
}

function call<T>(client: grpc.Client & Record<string, Unary>, method: string, request: unknown, deadlineMs = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method]!(request, { deadline: Date.now() + deadlineMs }, (error, response) => (error ? reject(error) : resolve(response as T)));
  });
}

const allow: Decision = { kind: 'allow', setHeaders: [{ name: 'x-a', value: '1' }], removeHeaders: [], metadata: {} };
const checkRequest = { attributes: { request: { http: { id: 'r1', method: 'GET', path: '/api/version', headers: { ':path': '/api/version' } } } } };

describe('createCheckServer', () => {
  let server: CheckServer;
  const clients: grpc.Client[] = [];
  let decide: (request: RequestView) => Promise<Decision>;
  const logged: AccessLogRecord[] = [];
  let address = '';

  before(async () => {
    server = createCheckServer({ decide: (request) => decide(request), onAccessLog: async (record) => void logged.push(record), deadlineMarginMs: 300 });
    address = `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close(1000);
  });
  const client = (definition: grpc.ServiceDefinition) => {
    const made = clientFor(definition, address);
    clients.push(made);
    return made;
  };

  it('answers Check with the decision of the decide function', async () => {
    let seen: RequestView | undefined;
    decide = async (request) => ((seen = request), allow);
    const response = await call<CheckResponseMessage>(client(envoyServices().authorization), 'Check', checkRequest);
    expect(response.status.code).to.equal(0);
    expect(response.ok_response?.headers[0]?.header).to.deep.equal({ key: 'x-a', value: '1' });
    expect(seen).to.deep.include({ id: 'r1', method: 'GET', path: '/api/version' });
  });

  it('denies 503 when the decision throws (fail closed)', async () => {
    decide = async () => {
      throw new Error('boom');
    };
    const response = await call<CheckResponseMessage>(client(envoyServices().authorization), 'Check', checkRequest);
    expect(response.status.code).to.not.equal(0);
    expect(response.denied_response?.status.code).to.equal('ServiceUnavailable');
    expect(JSON.parse(response.denied_response?.body ?? '')).to.deep.equal({ error: 'authorization service error', code: 503 });
  });

  it('denies 503 when the decision outlives its budget, before the caller deadline', async () => {
    decide = () => new Promise(() => undefined);
    const response = await call<CheckResponseMessage>(client(envoyServices().authorization), 'Check', checkRequest, 1000);
    expect(response.denied_response?.status.code).to.equal('ServiceUnavailable');
    expect(response.denied_response?.body).to.contain('timed out');
  });

  it('reports NOT_SERVING until told it is ready', async () => {
    const health = client(healthService as grpc.ServiceDefinition);
    expect(await call(health, 'check', { service: '' })).to.deep.equal({ status: 'NOT_SERVING' });
    server.setServing(true);
    expect(await call(health, 'check', { service: '' })).to.deep.equal({ status: 'SERVING' });
    expect(await call(health, 'check', { service: 'envoy.service.auth.v3.Authorization' })).to.deep.equal({ status: 'SERVING' });
  });

  it('hands each HTTP access-log entry with its ext_authz metadata and status to the callback', async () => {
    const logClient = client(envoyServices().accessLog) as grpc.Client & Record<string, (callback: (error: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown>>;
    await new Promise<void>((resolve, reject) => {
      const stream = logClient.StreamAccessLogs!((error) => (error ? reject(error) : resolve()));
      stream.write({
        identifier: { log_name: 'edge' },
        http_logs: {
          log_entry: [
            {
              common_properties: { metadata: { filter_metadata: { 'envoy.filters.http.ext_authz': { fields: { reservation: { stringValue: 'r-1' } } } } } },
              request: { request_id: 'q1' },
              response: { response_code: { value: 200 } },
            },
            { request: { request_id: 'q2' }, response: {} },
          ],
        },
      });
      stream.end();
    });
    expect(logged).to.deep.equal([
      { requestId: 'q1', metadata: { reservation: 'r-1' }, responseCode: 200 },
      { requestId: 'q2', metadata: {}, responseCode: undefined },
    ]);
  });

  it('listens on a unix socket, replacing a stale socket file but never a regular file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'check-server-'));
    const socket = path.join(dir, 'authz.sock');
    const stale = net.createServer().listen(socket);
    await new Promise((resolve) => stale.once('listening', resolve));
    const unixServer = createCheckServer({ decide: async () => allow });
    try {
      expect(await unixServer.listen(`unix:${socket}`)).to.equal(0);
      const unixClient = clientFor(envoyServices().authorization, `unix:${socket}`);
      clients.push(unixClient);
      expect((await call<CheckResponseMessage>(unixClient, 'Check', checkRequest)).status.code).to.equal(0);
      const regular = path.join(dir, 'not-a-socket');
      await writeFile(regular, 'data');
      const other = createCheckServer({ decide: async () => allow });
      let refused = '';
      await other.listen(`unix:${regular}`).catch((error: Error) => (refused = error.message));
      expect(refused).to.contain(`cannot listen on unix:${regular}`);
      await other.close(100);
    } finally {
      stale.close();
      await unixServer.close(1000);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lets an in-flight Check finish when closing, then refuses new calls', async () => {
    let release: () => void = () => undefined;
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const draining = createCheckServer({
      decide: () => {
        started();
        return new Promise((resolve) => (release = () => resolve(allow)));
      },
    });
    const drainingClient = clientFor(envoyServices().authorization, `127.0.0.1:${await draining.listen('127.0.0.1:0')}`);
    clients.push(drainingClient);
    const inFlight = call<CheckResponseMessage>(drainingClient, 'Check', checkRequest, 5000);
    await running;
    const closed = draining.close(5000);
    release();
    expect((await inFlight).status.code).to.equal(0);
    await closed;
    const refused = await call(drainingClient, 'Check', checkRequest).then(() => 'answered', (error: grpc.ServiceError) => error.code);
    expect(refused).to.equal(grpc.status.UNAVAILABLE);
  });
});
