// The sidecar as a CSI driver sees it (real Envoy, the real sidecar Check and token holder), against
// a raw HTTPS upstream standing in for the edge that records the exact bytes it receives: the proof
// that the wire form is Dell's (two separate `Forwarded:` lines, Host, Bearer) and that tokens are
// refreshed before they expire.
import { expect } from 'chai';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { decodeJwt } from 'jose';
import { pino } from 'pino';
import { generate } from 'selfsigned';
import { Agent, request } from 'undici';
import { generateServingCertificate } from '../src/sidecar/certificates.js';
import { runSidecar, type RunningSidecar, type RunSidecarOptions } from '../src/sidecar/run.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import type { SigningKeySet } from '../src/tokens/types.js';
import { freePort } from '../src/harness/ports.js';
import { envoyBin } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';

const ACCESS_TTL_SECONDS = 4;
const keys: SigningKeySet = { defaultKid: 'k', keys: new Map([['k', new TextEncoder().encode('sidecar-envoy-test-key-0123456789abcdefg')]]) };
const ARRAY_A = { systemID: '542a2d5f5122210f', intended: 'https://10.0.0.1' };
const ARRAY_B = { systemID: '7b0d7b6f6c6e5a01', intended: 'https://10.0.0.2' };

interface RawRequest {
  head: string;
  method: string;
  path: string;
  headers: [string, string][];
  body: string;
  receivedAt: number;
}

const header = (req: RawRequest, name: string) => req.headers.filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);

/** An HTTPS server that parses HTTP/1.1 by hand, so the recorded head is exactly what arrived. */
async function startRawEdge(answer: (req: RawRequest) => Promise<{ status: number; body: string }>) {
  const certificate = await generateServingCertificate(new Date(Date.now() - 60_000), 3600_000);
  const received: RawRequest[] = [];
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ cert: certificate.certPem, key: certificate.keyPem }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = Buffer.alloc(0);
    let queue = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const [requestLine = '', ...lines] = head.split('\r\n');
        const headers = lines.map((line): [string, string] => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]);
        const length = Number(headers.find(([key]) => key.toLowerCase() === 'content-length')?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const body = buffer.subarray(end + 4, end + 4 + length).toString();
        buffer = buffer.subarray(end + 4 + length);
        const [method = '', target = ''] = requestLine.split(' ');
        const req: RawRequest = { head, method, path: target, headers, body, receivedAt: Date.now() / 1000 };
        received.push(req);
        queue = queue.then(async () => {
          const { status, body: responseBody } = await answer(req);
          socket.write(`HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(responseBody)}\r\n\r\n${responseBody}`);
        });
      }
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    caPem: certificate.certPem,
    received,
    /** Serves another certificate from now on; open connections are closed so every client sees it. */
    useCertificate(next: { certPem: string; keyPem: string }) {
      server.setSecureContext({ cert: next.certPem, key: next.keyPem });
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The driver config (ARRAY_A on portA, ARRAY_B on portB) and the edge's CA in `dir`; `dir/tokens` for the token pair. */
async function writeInputs(dir: string, edge: { caPem: string }, portA: number, portB: number): Promise<void> {
  await mkdir(path.join(dir, 'ca'));
  await writeFile(path.join(dir, 'ca', 'ca.pem'), edge.caPem);
  await writeFile(
    path.join(dir, 'config'),
    JSON.stringify([
      { username: 'placeholder', password: 'placeholder', intendedEndpoint: ARRAY_A.intended, endpoint: `https://localhost:${portA}`, systemID: ARRAY_A.systemID, insecure: true, isDefault: true },
      { username: 'placeholder', password: 'placeholder', intendedEndpoint: ARRAY_B.intended, endpoint: `https://localhost:${portB}`, systemID: ARRAY_B.systemID, insecure: true },
    ]),
  );
  await mkdir(path.join(dir, 'tokens'));
}

/** runSidecar's options for the inputs writeInputs put in `dir`; its log lines go to `logLines`. */
async function sidecarOptions(dir: string, edge: { port: number }, logLines: string[]): Promise<RunSidecarOptions> {
  const logStream = new Writable({ write(chunk, _encoding, done) { logLines.push(chunk.toString()); done(); } });
  return {
    proxyHost: `localhost:${edge.port}`,
    plugin: 'powerflex',
    driverConfigFile: path.join(dir, 'config'),
    tokensDir: path.join(dir, 'tokens'),
    caFile: path.join(dir, 'ca', 'ca.pem'),
    envoyBin,
    workDir: path.join(dir, 'work'),
    envoyAdminPort: await freePort(),
    envoyLogLevel: 'error',
    logger: pino({ level: 'info' }, logStream),
  };
}

describe('sidecar through a real Envoy (raw upstream)', function () {
  this.timeout(60_000);
  let dir: string;
  let edge: Awaited<ReturnType<typeof startRawEdge>>;
  let sidecar: RunningSidecar | undefined;
  let revoked = false;
  let refreshBodies: unknown[] = [];
  const logLines: string[] = [];
  let portA: number;
  let portB: number;
  let statusPort: number;
  const driver = new Agent({ connect: { rejectUnauthorized: false } });

  const mint = () => mintTokenPair({ keys, subject: 'csm-tenant', group: 'tenant-a', roles: ['bronze'], accessTtlSeconds: ACCESS_TTL_SECONDS, refreshTtlSeconds: 3600 });

  async function writeTokens(pair: { access: string; refresh: string }) {
    // Written beside and renamed in, as the kubelet swaps a secret volume: never a half-written file.
    for (const [name, value] of [['access', pair.access], ['refresh', pair.refresh]] as const) {
      await writeFile(path.join(dir, 'tokens', `.${name}.tmp`), value);
      await rename(path.join(dir, 'tokens', `.${name}.tmp`), path.join(dir, 'tokens', name));
    }
  }

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-envoy-e2e-'));
    edge = await startRawEdge(async (req) => {
      if (req.path === '/proxy/refresh-token/') {
        refreshBodies.push(JSON.parse(req.body));
        if (revoked) return { status: 401, body: JSON.stringify({ error: 'tenant "tenant-a" has been revoked', code: 401, reason: 'tenant-revoked' }) };
        return { status: 200, body: JSON.stringify({ accessToken: (await mint()).access }) };
      }
      return { status: 200, body: JSON.stringify({ id: 'vol-1' }) };
    });
    [portA, portB, statusPort] = await Promise.all([freePort(), freePort(), freePort()]);
    await writeInputs(dir, edge, portA, portB);
    await writeTokens(await mint());
    sidecar = await runSidecar({
      ...(await sidecarOptions(dir, edge, logLines)),
      status: { host: '127.0.0.1', port: statusPort },
    });
  });

  after(async () => {
    await sidecar?.stop();
    await driver.close();
    await edge?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function driverRequest(port: number, method = 'POST', target = '/api/types/Volume/instances/') {
    const response = await request(`https://localhost:${port}${target}`, {
      method,
      dispatcher: driver,
      headers: {
        authorization: `Basic ${Buffer.from('placeholder:placeholder').toString('base64')}`,
        cookie: 'session=driver',
        'content-type': 'application/json',
        'x-csi-pv-name': 'k8s-1234',
      },
      ...(method === 'POST' ? { body: JSON.stringify({ name: 'k8s-1234', volumeSizeInKb: '8388608', storagePoolId: 'p1' }) } : {}),
    });
    return { status: response.statusCode, body: await response.body.text() };
  }

  const lastArrayRequest = () => [...edge.received].reverse().find((req) => req.path !== '/proxy/refresh-token/')!;

  it("sends Dell's headers: two Forwarded lines in order, Host = proxy host, the Bearer token, no driver credentials", async () => {
    expect(await driverRequest(portA)).to.deep.equal({ status: 200, body: '{"id":"vol-1"}' });
    const req = lastArrayRequest();
    expect(req.head).to.match(/^POST \/api\/types\/Volume\/instances\/ HTTP\/1\.1\r\n/);
    expect(req.head).to.include(
      `\r\nForwarded: for=csm-authorization;${ARRAY_A.intended};${ARRAY_A.systemID}\r\nForwarded: by=csm-authorization;powerflex\r\n`,
    );
    expect(header(req, 'forwarded')).to.have.length(2);
    expect(header(req, 'host')).to.deep.equal([`localhost:${edge.port}`]);
    const [authorization] = header(req, 'authorization');
    expect(authorization).to.match(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(header(req, 'authorization')).to.have.length(1);
    expect(header(req, 'cookie')).to.deep.equal([]);
    expect(header(req, 'x-csi-pv-name')).to.deep.equal(['k8s-1234']);
    // Like Go's reverse proxy, one X-Forwarded-For hop (Envoy writes its host address for a loopback peer).
    expect(header(req, 'x-forwarded-for')).to.have.length(1);
    expect(isIP(header(req, 'x-forwarded-for')[0]!)).to.not.equal(0);
    expect(JSON.parse(req.body)).to.deep.equal({ name: 'k8s-1234', volumeSizeInKb: '8388608', storagePoolId: 'p1' });
  });

  it('routes each local port to its own system', async () => {
    await driverRequest(portB, 'GET', '/api/instances/System/');
    expect(header(lastArrayRequest(), 'forwarded')).to.deep.equal([
      `for=csm-authorization;${ARRAY_B.intended};${ARRAY_B.systemID}`,
      'by=csm-authorization;powerflex',
    ]);
    await driverRequest(portA, 'GET', '/api/instances/System/');
    expect(header(lastArrayRequest(), 'forwarded')[0]).to.equal(`for=csm-authorization;${ARRAY_A.intended};${ARRAY_A.systemID}`);
  });

  it('keeps every request succeeding with an unexpired token over five access-token lifetimes', async () => {
    refreshBodies = [];
    const from = edge.received.length;
    const until = Date.now() + 5 * ACCESS_TTL_SECONDS * 1000 + 500;
    let sent = 0;
    while (Date.now() < until) {
      expect(await driverRequest(sent % 2 ? portB : portA)).to.deep.include({ status: 200 });
      sent++;
    }
    const arrayRequests = edge.received.slice(from).filter((req) => req.path !== '/proxy/refresh-token/');
    expect(arrayRequests).to.have.length(sent);
    const tokens = new Set<string>();
    for (const req of arrayRequests) {
      const token = header(req, 'authorization')[0]!.slice('Bearer '.length);
      tokens.add(token);
      expect(decodeJwt(token).exp!, 'token expired when the edge received it').to.be.greaterThan(req.receivedAt);
    }
    expect(tokens.size).to.be.at.least(5);
    // Dell's refresh request shape, and no refresh storm.
    expect(Object.keys(refreshBodies[0] as object)).to.deep.equal(['refreshToken', 'accessToken']);
    expect(refreshBodies.length).to.be.within(5, 20);
  });

  it('switches to a newly applied token secret without a restart', async () => {
    const reissued = await mint();
    await writeTokens(reissued);
    await waitFor(async () => {
      await driverRequest(portA, 'GET', '/api/instances/System/');
      const token = header(lastArrayRequest(), 'authorization')[0]!.slice('Bearer '.length);
      return token === reissued.access || (refreshBodies.at(-1) as { refreshToken?: string } | undefined)?.refreshToken === reissued.refresh;
    }, 'requests to carry the re-issued token', 5000);
  });

  it('trusts a re-applied CA bundle without a restart, and nothing the bundle does not vouch for', async () => {
    // A new edge certificate from another issuer (its own subject name, so both can sit in one bundle).
    const pems = await generate([{ name: 'commonName', value: 'rotated-edge' }], {
      keyType: 'ec', algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    edge.useCertificate({ certPem: pems.cert, keyPem: pems.private });
    expect((await driverRequest(portA, 'GET', '/api/instances/System/')).status).to.equal(503);

    // Applied as kubelet applies a Secret: the new bundle (old and new CA) is renamed into the mounted directory.
    await writeFile(path.join(dir, 'ca', '.ca.pem.tmp'), `${edge.caPem.trim()}\n${pems.cert.trim()}\n`);
    await rename(path.join(dir, 'ca', '.ca.pem.tmp'), path.join(dir, 'ca', 'ca.pem'));
    await waitFor(async () => (await driverRequest(portA, 'GET', '/api/instances/System/')).status === 200, 'requests through the new certificate', 10_000, 100);
  });

  it('fails closed within one access-token lifetime of revocation and reports why', async () => {
    const ready = await request(`http://127.0.0.1:${statusPort}/ready`);
    expect(ready.statusCode).to.equal(200);
    await ready.body.dump();

    revoked = true;
    let refused: { status: number; body: string } | undefined;
    await waitFor(async () => {
      const answer = await driverRequest(portA, 'GET', '/api/instances/System/');
      if (answer.status !== 200) refused = answer;
      return refused !== undefined;
    }, 'requests to be refused after revocation', ACCESS_TTL_SECONDS * 1000 + 1500);
    expect(refused!.status).to.equal(503);
    expect(JSON.parse(refused!.body).error).to.include('the tenant has been revoked: ask the storage admin to cancel the revocation');

    const status = await request(`http://127.0.0.1:${statusPort}/ready`);
    expect(status.statusCode).to.equal(503);
    expect(((await status.body.json()) as { problem: string }).problem).to.include('tenant-revoked');
    expect(logLines.filter((line) => line.includes('cancel the revocation'))).to.have.length(1);
    expect(sidecar!.status().ready).to.equal(false);
  });
});

describe('sidecar stop with a driver request in flight (real Envoy)', function () {
  this.timeout(60_000);
  let dir: string;
  let edge: Awaited<ReturnType<typeof startRawEdge>>;
  let release: () => void = () => undefined;
  /** Resolves when the next array request has reached the edge (it is held there until release()). */
  let arrived: Promise<void>;
  let arrive: () => void = () => undefined;
  let portA: number;
  const logLines: string[] = [];
  /** Every sidecar a test started: stopped again after the tests, should a test fail before its own stop. */
  const started: RunningSidecar[] = [];
  const driver = new Agent({ connect: { rejectUnauthorized: false } });
  const mint = () => mintTokenPair({ keys, subject: 'csm-tenant', group: 'tenant-a', roles: ['bronze'], accessTtlSeconds: 3600, refreshTtlSeconds: 3600 });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-stop-e2e-'));
    edge = await startRawEdge(async (req) => {
      if (req.path === '/proxy/refresh-token/') return { status: 200, body: JSON.stringify({ accessToken: (await mint()).access }) };
      if (req.method !== 'POST') return { status: 200, body: '[]' };
      const held = new Promise<void>((resolve) => { release = resolve; });
      arrive();
      await held;
      return { status: 200, body: JSON.stringify({ id: 'vol-1' }) };
    });
    portA = await freePort();
    await writeInputs(dir, edge, portA, await freePort());
    const pair = await mint();
    await writeFile(path.join(dir, 'tokens', 'access'), pair.access);
    await writeFile(path.join(dir, 'tokens', 'refresh'), pair.refresh);
  });

  after(async () => {
    release();
    for (const sidecar of started) await sidecar.stop();
    await driver.close();
    await edge?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A sidecar with one driver request (a create) held at the edge, told to stop. */
  async function stopWithRequestHeld(drainTimeoutMs: number) {
    arrived = new Promise<void>((resolve) => { arrive = resolve; });
    const options = await sidecarOptions(dir, edge, logLines);
    const sidecar = await runSidecar({ ...options, workDir: path.join(dir, `work-${drainTimeoutMs}`), drainTimeoutMs });
    started.push(sidecar);
    const answer = request(`https://localhost:${portA}/api/types/Volume/instances/`, { method: 'POST', dispatcher: driver, body: '{}' }).then(
      async (response) => ({ status: response.statusCode, connection: response.headers.connection, body: await response.body.text() }),
      (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
    );
    await arrived;
    let stopped = false;
    const stopping = sidecar.stop().then(() => { stopped = true; });
    return { answer, stopping, isStopped: () => stopped };
  }

  it("answers the driver's request in flight before Envoy stops, telling it to close, and stops only then", async () => {
    const { answer, stopping, isStopped } = await stopWithRequestHeld(20_000);
    // Draining has begun once an answer tells the driver to close its connection.
    await waitFor(async () => {
      const probe = await request(`https://localhost:${portA}/api/instances/System/`, { dispatcher: driver });
      await probe.body.dump();
      return probe.headers.connection === 'close';
    }, 'the sidecar Envoy to drain');
    expect(isStopped()).to.equal(false);
    release();
    expect(await answer).to.deep.equal({ status: 200, connection: 'close', body: '{"id":"vol-1"}' });
    await stopping;
    expect(logLines.some((line) => line.includes("the driver's requests in flight were answered"))).to.equal(true);
  });

  it('stops at its drain timeout with the request still running, and says so', async () => {
    const { answer, stopping } = await stopWithRequestHeld(300);
    await stopping;
    expect(await answer).to.have.property('error');
    expect(logLines.some((line) => line.includes('still running at the drain timeout are reset') && line.includes('"stillRunning":1'))).to.equal(true);
    release();
  });
});
