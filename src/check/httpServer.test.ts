import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import type { Decision, RequestView } from '../pipeline/types.js';
import { createHttpCheckServer, type HttpCheckServer } from './httpServer.js';

const ALLOW: Decision = { kind: 'allow', setHeaders: [{ name: 'authorization', value: 'Basic abc' }], removeHeaders: [], metadata: {} };

describe('HTTP check server (ext_authz http_service)', () => {
  let server: HttpCheckServer;
  let base: string;
  let seen: RequestView[];
  let next: (request: RequestView) => Promise<Decision>;

  beforeEach(async () => {
    seen = [];
    next = () => Promise.resolve(ALLOW);
    server = createHttpCheckServer({
      decide: (view) => {
        seen.push(view);
        return next(view);
      },
    });
    base = `http://127.0.0.1:${await server.listen('127.0.0.1:0')}`;
  });
  afterEach(() => server.close(100));

  const ask = async (path: string, options: { method?: 'GET' | 'POST'; headers?: string[]; body?: Buffer } = {}) => {
    const response = await request(`${base}${path}`, { method: options.method ?? 'GET', headers: options.headers, body: options.body });
    return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
  };

  it('decides on the request as Envoy sent it: method, raw path, headers joined as the Check joins them, the body byte for byte', async () => {
    const body = Buffer.from([0x7b, 0xff, 0x00, 0x7d]);
    const answer = await ask('/api/types/Volume/instances?x=%41', {
      method: 'POST',
      headers: ['X-Request-Id', 'r-1', 'X-Dup', 'a', 'x-dup', 'b'],
      body,
    });
    expect(answer.status).to.equal(200);
    expect(answer.headers.authorization).to.equal('Basic abc');
    expect(answer.headers['x-storage-authz-path']).to.equal('/api/types/Volume/instances?x=%41');
    expect(seen).to.have.length(1);
    expect(seen[0]).to.deep.include({ id: 'r-1', method: 'POST', path: '/api/types/Volume/instances?x=%41' });
    expect(seen[0]!.headers['x-dup']).to.equal('a,b');
    expect(seen[0]!.body.equals(body)).to.equal(true);
  });

  it("denies 503 (as a 403 naming it) once Envoy's own timeout, less the margin, has passed", async () => {
    next = () => new Promise<Decision>(() => {});
    const answer = await ask('/api/version/', { headers: ['x-envoy-expected-rq-timeout-ms', '60'] });
    expect(answer.status).to.equal(403);
    expect(answer.headers['deny-status']).to.equal('503');
    expect(JSON.parse(answer.body)).to.deep.equal({ error: 'authorization decision timed out', code: 503 });
  });

  it('denies 503 when the decision fails, or cannot be carried by the edge', async () => {
    next = () => Promise.reject(new Error('boom'));
    expect((await ask('/a/')).headers['deny-status']).to.equal('503');
    next = () => Promise.resolve({ ...ALLOW, setHeaders: [{ name: 'x-not-forwarded', value: '1' }] });
    const unforwardable = await ask('/a/');
    expect(unforwardable.status).to.equal(403);
    expect(unforwardable.headers['deny-status']).to.equal('503');
    expect(unforwardable.headers.authorization).to.equal(undefined);
    next = () => Promise.resolve({ ...ALLOW, setHeaders: [{ name: 'authorization', value: 'line\nbreak' }] });
    expect((await ask('/a/')).headers['deny-status']).to.equal('503');
  });

  it('listens on a unix socket, as the chart runs it, replacing a stale socket file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'http-check-'));
    const socket = path.join(dir, 'check-http.sock');
    const servers: HttpCheckServer[] = [];
    try {
      for (let run = 0; run < 2; run++) {
        // The first server stays open: its socket file is the stale one the second replaces.
        const onSocket = createHttpCheckServer({ decide: () => Promise.resolve(ALLOW) });
        servers.push(onSocket);
        expect(await onSocket.listen(`unix:${socket}`)).to.equal(0);
        const response = await request('http://localhost/api/version/', { dispatcher: new Agent({ connect: { socketPath: socket } }) });
        expect(response.statusCode).to.equal(200);
        expect(response.headers.authorization).to.equal('Basic abc');
        await response.body.dump();
      }
    } finally {
      await Promise.all(servers.map((opened) => opened.close(100)));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers its health path itself, never deciding: 503 until serving, then 403', async () => {
    expect((await ask('/.storage-authz/health')).status).to.equal(503);
    server.setServing(true);
    const serving = await ask('/.storage-authz/health');
    expect(serving.status).to.equal(403);
    expect(JSON.parse(serving.body)).to.deep.equal({ status: 'SERVING' });
    expect(seen).to.deep.equal([]);
  });
});
