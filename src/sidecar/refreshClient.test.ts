import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { generateServingCertificate } from './certificates.js';
import { parseProxyHost } from './config.js';
import { createProxyRefresher, interpret } from './refreshClient.js';

interface Seen {
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  body?: string;
}

describe('sidecar refresh client', () => {
  let dir: string;
  let server: https.Server;
  let port: number;
  let seen: Seen;
  let answer: { status: number; body: string };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'refresh-client-'));
    const certificate = await generateServingCertificate(new Date(Date.now() - 60_000), 3600_000);
    await writeFile(path.join(dir, 'ca.pem'), certificate.certPem);
    const other = await generateServingCertificate(new Date(Date.now() - 60_000), 3600_000);
    await writeFile(path.join(dir, 'other-ca.pem'), other.certPem);
    server = https.createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body };
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen = {};
    answer = { status: 200, body: JSON.stringify({ accessToken: 'new-access' }) };
  });

  const pair = { refreshToken: 'the-refresh', accessToken: 'the-access' };

  it("sends Dell's refresh request and trusts the proxy through the CA bundle", async () => {
    const refresher = createProxyRefresher(parseProxyHost(`localhost:${port}`), { kind: 'ca-bundle', caFile: path.join(dir, 'ca.pem') });
    expect(await refresher(pair)).to.deep.equal({ kind: 'refreshed', accessToken: 'new-access' });
    expect(seen.method).to.equal('POST');
    expect(seen.url).to.equal('/proxy/refresh-token/');
    expect(seen.headers).to.include({ 'content-type': 'application/json', host: `localhost:${port}` });
    expect(seen.headers).to.not.have.property('authorization');
    expect(JSON.parse(seen.body!)).to.deep.equal({ refreshToken: 'the-refresh', accessToken: 'the-access' });
  });

  it('refuses a proxy whose certificate the CA bundle does not vouch for', async () => {
    const refresher = createProxyRefresher(parseProxyHost(`localhost:${port}`), { kind: 'ca-bundle', caFile: path.join(dir, 'other-ca.pem') });
    let failure: unknown;
    try {
      await refresher(pair);
    } catch (error) {
      failure = error;
    }
    expect(failure, 'the refresh must fail').to.be.instanceOf(Error);
    expect(seen.body).to.equal(undefined);
  });

  it('skips verification only when configured insecure', async () => {
    const refresher = createProxyRefresher(parseProxyHost(`127.0.0.1:${port}`), { kind: 'insecure' });
    expect(await refresher(pair)).to.deep.equal({ kind: 'refreshed', accessToken: 'new-access' });
  });

  it('reports our server\'s refusal reason', async () => {
    answer = { status: 401, body: JSON.stringify({ error: 'tenant "a" has been revoked', code: 401, reason: 'tenant-revoked' }) };
    const refresher = createProxyRefresher(parseProxyHost(`127.0.0.1:${port}`), { kind: 'insecure' });
    expect(await refresher(pair)).to.deep.equal({ kind: 'refused', status: 401, reason: 'tenant-revoked', message: 'tenant "a" has been revoked' });
  });

  it("understands Dell's plain-text refusals and a 200 without a token", () => {
    expect(interpret(500, 'rpc error: code = Unknown desc = access token was valid\n')).to.deep.equal({
      kind: 'refused', status: 500, reason: 'access-token-still-valid', message: 'rpc error: code = Unknown desc = access token was valid',
    });
    expect(interpret(500, 'rpc error: code = Unknown desc = tenant has been revoked')).to.deep.equal({
      kind: 'refused', status: 500, message: 'rpc error: code = Unknown desc = tenant has been revoked',
    });
    expect(interpret(200, '{}')).to.deep.equal({ kind: 'refused', status: 200, message: 'the refresh answer carries no accessToken' });
    expect(interpret(502, '')).to.deep.equal({ kind: 'refused', status: 502, message: 'HTTP 502' });
  });
});
