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
import { healthStatus, unaryCall } from '../../test/support/grpc.js';

const allow: Decision = { kind: 'allow', setHeaders: [{ name: 'x-a', value: '1' }], removeHeaders: [], metadata: {} };
const checkRequest = { attributes: { request: { http: { id: 'r1', method: 'GET', path: '/api/version', headers: { ':path': '/api/version' } } } } };

describe('createCheckServer', () => {
  let server: CheckServer;
  let decide: (request: RequestView) => Promise<Decision>;
  const logged: AccessLogRecord[] = [];
  let address = '';

  before(async () => {
    server = createCheckServer({ decide: (request) => decide(request), onAccessLog: async (record) => void logged.push(record), deadlineMarginMs: 300 });
    address = `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
  });
  after(async () => {
    await server.close(1000);
  });
  const check = (at = address, deadlineMs?: number) => unaryCall<CheckResponseMessage>(envoyServices().authorization, at, 'Check', checkRequest, deadlineMs);

  it('answers Check with the decision of the decide function', async () => {
    let seen: RequestView | undefined;
    decide = async (request) => ((seen = request), allow);
    const response = await check();
    expect(response.status.code).to.equal(0);
    expect(response.ok_response?.headers[0]?.header).to.deep.equal({ key: 'x-a', value: '1' });
    expect(seen).to.deep.include({ id: 'r1', method: 'GET', path: '/api/version' });
  });

  it('denies 503 when the decision throws (fail closed)', async () => {
    decide = async () => {
      throw new Error('boom');
    };
    const response = await check();
    expect(response.status.code).to.not.equal(0);
    expect(response.denied_response?.status.code).to.equal('ServiceUnavailable');
    expect(JSON.parse(response.denied_response?.body ?? '')).to.deep.equal({ error: 'authorization service error', code: 503 });
  });

  it('denies 503 when the decision outlives its budget, before the caller deadline', async () => {
    decide = () => new Promise(() => undefined);
    const response = await check(address, 1000);
    expect(response.denied_response?.status.code).to.equal('ServiceUnavailable');
    expect(response.denied_response?.body).to.contain('timed out');
  });

  it('reports NOT_SERVING until told it is ready', async () => {
    expect(await healthStatus(address)).to.equal('NOT_SERVING');
    server.setServing(true);
    expect(await healthStatus(address)).to.equal('SERVING');
    const named = await unaryCall(healthService as grpc.ServiceDefinition, address, 'check', { service: 'envoy.service.auth.v3.Authorization' });
    expect(named).to.deep.equal({ status: 'SERVING' });
  });

  it('serves health, and only health, on the kubelet probe address', async () => {
    const probe = `127.0.0.1:${await server.listenHealth('127.0.0.1:0')}`;
    server.setServing(false);
    expect(await healthStatus(probe)).to.equal('NOT_SERVING');
    server.setServing(true);
    expect(await healthStatus(probe)).to.equal('SERVING');
    // Check stays on the private listener: the pod network cannot ask for decisions.
    const error = await check(probe).then(() => undefined, (e: grpc.ServiceError) => e);
    expect(error?.code).to.equal(grpc.status.UNIMPLEMENTED);
  });

  it('hands each HTTP access-log entry with its ext_authz metadata and status to the callback', async () => {
    const LogClient = grpc.makeGenericClientConstructor(envoyServices().accessLog, 'AccessLog');
    const logClient = new LogClient(address, grpc.credentials.createInsecure()) as unknown as grpc.Client &
      Record<string, (callback: (error: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown>>;
    await new Promise<void>((resolve, reject) => {
      const stream = logClient.StreamAccessLogs!((error) => (error ? reject(error) : resolve()));
      stream.write({
        identifier: { log_name: 'edge' },
        http_logs: {
          log_entry: [
            {
              common_properties: { metadata: { filter_metadata: { 'envoy.filters.http.ext_authz': { fields: { holds: { stringValue: 'r-1' } } } } } },
              request: { request_id: 'q1' },
              response: { response_code: { value: 200 } },
            },
            {
              common_properties: { response_flags: { upstream_request_timeout: true } },
              request: { request_id: 'q3' },
              response: { response_code: { value: 504 } },
            },
            { request: { request_id: 'q2' }, response: {} },
          ],
        },
      });
      stream.end();
    }).finally(() => logClient.close());
    expect(logged).to.deep.equal([
      { requestId: 'q1', metadata: { holds: 'r-1' }, responseCode: 200, envoyFlags: [] },
      { requestId: 'q3', metadata: {}, responseCode: 504, envoyFlags: ['upstream_request_timeout'] },
      { requestId: 'q2', metadata: {}, responseCode: undefined, envoyFlags: [] },
    ]);
  });

  it('hands an access-log entry over while the one before is still being applied', async () => {
    const started: string[] = [];
    let releaseFirst: () => void = () => undefined;
    const firstReleased = new Promise<void>((resolve) => (releaseFirst = resolve));
    let secondStarted: () => void = () => undefined;
    const bothStarted = new Promise<void>((resolve) => (secondStarted = resolve));
    const logServer = createCheckServer({
      decide: async () => allow,
      onAccessLog: async ({ requestId }) => {
        started.push(requestId);
        if (requestId === 'q1') await firstReleased;
        else secondStarted();
      },
    });
    const at = `127.0.0.1:${await logServer.listen('127.0.0.1:0')}`;
    const LogClient = grpc.makeGenericClientConstructor(envoyServices().accessLog, 'AccessLog');
    const logClient = new LogClient(at, grpc.credentials.createInsecure()) as unknown as grpc.Client &
      Record<string, (callback: (error: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown>>;
    try {
      const done = new Promise<void>((resolve, reject) => {
        const stream = logClient.StreamAccessLogs!((error) => (error ? reject(error) : resolve()));
        stream.write({ identifier: { log_name: 'edge' }, http_logs: { log_entry: [{ request: { request_id: 'q1' } }, { request: { request_id: 'q2' } }] } });
        stream.end();
      });
      // Entries applied one after another would never start q2 while q1 waits: this would time out.
      await bothStarted;
      expect(started).to.deep.equal(['q1', 'q2']);
      releaseFirst();
      await done;
    } finally {
      logClient.close();
      await logServer.close(1000);
    }
  });

  it('listens on a unix socket, replacing a stale socket file but never a regular file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'check-server-'));
    const socket = path.join(dir, 'authz.sock');
    const stale = net.createServer().listen(socket);
    await new Promise((resolve) => stale.once('listening', resolve));
    const unixServer = createCheckServer({ decide: async () => allow });
    try {
      expect(await unixServer.listen(`unix:${socket}`)).to.equal(0);
      expect((await check(`unix:${socket}`)).status.code).to.equal(0);
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
    const drainingAddress = `127.0.0.1:${await draining.listen('127.0.0.1:0')}`;
    const inFlight = check(drainingAddress, 5000);
    await running;
    const closed = draining.close(5000);
    release();
    expect((await inFlight).status.code).to.equal(0);
    await closed;
    const refused = await check(drainingAddress).then(() => 'answered', (error: grpc.ServiceError) => error.code);
    expect(refused).to.equal(grpc.status.UNAVAILABLE);
  });
});
