// What every fake array serves on: HTTPS on a free loopback port, with a fresh self-signed
// certificate for 127.0.0.1 and localhost that the tests and the demo trust as the array's CA.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

/** Items rendered and written per write of a streamed JSON array (writeJsonArray). */
const ITEMS_PER_WRITE = 500;

/**
 * Answers with a JSON array written a chunk of items at a time (chunked transfer encoding), with a
 * turn of the event loop between chunks and the socket's backpressure respected. A real array
 * serves a listing of 10^5 volumes without holding its other requests; one stringify of such a
 * listing held the fake's process (in the bench, the runner's) for about a second, and every
 * request through the fake waited behind it.
 */
export async function writeJsonArray<T>(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, items: readonly T[], render: (item: T) => unknown): Promise<void> {
  res.writeHead(status, headers);
  res.write('[');
  for (let start = 0; start < items.length; start += ITEMS_PER_WRITE) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    if (res.destroyed) return;
    const chunk = items.slice(start, start + ITEMS_PER_WRITE).map((item) => JSON.stringify(render(item))).join(',');
    if (!res.write(start === 0 ? chunk : `,${chunk}`)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  res.end(']');
}

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
  // Each fake its own subject: two CAs of one name in a trust bundle (a test with two arrays) make
  // the verifier pick either one by name and fail the other array's certificate.
  const pems = await generate([{ name: 'commonName', value: `${commonName} ${randomUUID()}` }], {
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
 * Requests a test holds at the array (`FakeArrayServer.hold`): each matching request waits, received
 * but unanswered, until `release`; counted in flight from arrival until its answer is sent, so a test
 * sees how many the array had at once without timing anything.
 */
export class RequestHold {
  /** Matching requests received so far. */
  received = 0;
  /** Matching requests received and not yet answered. */
  inFlight = 0;
  /** The most matching requests in flight at once. */
  maxInFlight = 0;
  private released = false;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly matches: (request: SeenRequest) => boolean) {}

  /** Answers every held request, and every matching one that arrives from now on at once. */
  release(): void {
    this.released = true;
    for (const answer of this.waiting.splice(0)) answer();
  }

  /** Runs `answer` when released; in flight until the response is over (sent, or the client gone). */
  admit(res: ServerResponse, answer: () => void): void {
    this.received += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => (this.inFlight -= 1));
    if (this.released) answer();
    else this.waiting.push(answer);
  }
}

/**
 * What each fake array class shares: it owns one HTTPS server (started by `listen`, which creates
 * the certificate before the first request can arrive), its CA, address and stop.
 */
const REQUESTS_KEPT = 50_000;

export abstract class FakeArrayServer {
  /** PEM of the fake's certificate (its own CA): what the tests and the demo trust as the array's CA. */
  ca = '';
  private server?: Server;
  private readonly seen: SeenRequest[] = [];
  private readonly holds: RequestHold[] = [];

  /** Answers one request, whose body has been read whole and recorded. */
  protected abstract respond(request: SeenRequest, res: ServerResponse): void;

  /**
   * The requests received, oldest first (logins included): what the array saw, for the tests. At
   * least the most recent REQUESTS_KEPT (at most twice that), so a demo or a bench that runs for
   * hours does not grow without end.
   */
  get requests(): readonly SeenRequest[] {
    return this.seen;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: SeenRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers }, body: Buffer.concat(chunks).toString('utf8') };
      // Trimmed in batches: one splice per REQUESTS_KEPT requests, not one shift per request.
      if (this.seen.push(request) > 2 * REQUESTS_KEPT) this.seen.splice(0, this.seen.length - REQUESTS_KEPT);
      const hold = this.holds.find((candidate) => candidate.matches(request));
      if (hold) hold.admit(res, () => this.respond(request, res));
      else this.respond(request, res);
    });
  }

  /** From now on, requests `matches` accepts are held until the hold is released (see RequestHold). */
  hold(matches: (request: SeenRequest) => boolean): RequestHold {
    const hold = new RequestHold(matches);
    this.holds.push(hold);
    return hold;
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
