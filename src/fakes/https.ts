// What every fake array serves on: HTTPS on a free loopback port, with a fresh self-signed
// certificate for 127.0.0.1 and localhost that the tests and the demo trust as the array's CA.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

/** One request as a fake array received it. */
export interface SeenRequest {
  method: string;
  /** The path as received, with query. */
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: string;
}

export interface FakeServer {
  server: Server;
  /** PEM of the certificate (its own CA). */
  ca: string;
}

export async function startFakeServer(commonName: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<FakeServer> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const server = createServer({ cert: pems.cert, key: pems.private }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, ca: pems.cert };
}

/**
 * What each fake array class shares: it owns one HTTPS server (started by `listen`, which creates
 * the certificate before the first request can arrive), its CA, address and stop.
 */
export abstract class FakeArrayServer {
  /** PEM of the fake's certificate (its own CA): what the tests and the demo trust as the array's CA. */
  ca = '';
  private server?: Server;
  private readonly seen: SeenRequest[] = [];

  /** Answers one request, whose body has been read whole and recorded. */
  protected abstract respond(request: SeenRequest, res: ServerResponse): void;

  /** Every request received, oldest first (logins included): what the array saw, for the tests. */
  get requests(): readonly SeenRequest[] {
    return this.seen;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: SeenRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers }, body: Buffer.concat(chunks).toString('utf8') };
      this.seen.push(request);
      this.respond(request, res);
    });
  }

  /** Starts on a free loopback port with a fresh self-signed certificate for 127.0.0.1 and localhost. */
  protected async listen(commonName: string): Promise<this> {
    const started = await startFakeServer(commonName, (req, res) => this.handle(req, res));
    this.server = started.server;
    this.ca = started.ca;
    return this;
  }

  get port(): number {
    if (!this.server) throw new Error('the fake array is not listening');
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
