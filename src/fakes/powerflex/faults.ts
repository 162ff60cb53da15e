// A fault-injecting HTTPS front for the fake PowerFlex gateway (issue 10's fault test and demos of
// failure): every request is passed to the gateway untouched, except volume creates, which get the
// fault the plan names for their volume name:
// - `fail`: answered 500 by the "array", nothing created;
// - `create-then-hang`: created, then the answer is held until the client (Envoy) gives up;
// - `hang-then-create`: held until the client gives up, then created (the array executed it late);
// - `slow`: answered after `slowMs`, created.
// Hangs end on the client's own timeout (Envoy's route timeout), never on a timer of ours.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { generateServingCertificate } from '../../sidecar/certificates.js';
import type { FakePowerFlexGateway } from './gateway.js';

export type CreateFault = 'none' | 'fail' | 'create-then-hang' | 'hang-then-create' | 'slow';

export interface FaultPlan {
  /** The fault for one create request, by the volume name in its body (called once per request). */
  createFault(name: string): CreateFault;
  /** How long a `slow` create takes (ms). Default 200. */
  slowMs?: number;
}

const CREATE_PATH = '/api/types/Volume/instances';

export class FaultInjectingGateway {
  /** Creates per fault injected so far. */
  readonly injected: Record<CreateFault, number> = { none: 0, fail: 0, 'create-then-hang': 0, 'hang-then-create': 0, slow: 0 };
  private readonly inFlight = new Set<Promise<void>>();
  private server!: Server;
  private readonly upstream: Dispatcher;

  private constructor(
    private readonly gateway: FakePowerFlexGateway,
    private readonly plan: FaultPlan,
    readonly ca: string,
  ) {
    this.upstream = new Agent({ connect: { ca: gateway.ca } });
  }

  static async start(gateway: FakePowerFlexGateway, plan: FaultPlan): Promise<FaultInjectingGateway> {
    const certificate = await generateServingCertificate(new Date(Date.now() - 60_000), 24 * 3600_000);
    const front = new FaultInjectingGateway(gateway, plan, certificate.certPem);
    front.server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => front.track(front.handle(req, res)));
    await new Promise<void>((resolve, reject) => {
      front.server.once('error', reject);
      front.server.listen(0, '127.0.0.1', () => resolve());
    });
    return front;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves once every request received so far is over, late creates included. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.idle();
    await this.upstream.close();
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch(() => undefined).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const gaveUp = new Promise<void>((resolve) => res.once('close', () => resolve()));
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    const fault = req.method === 'POST' && path === CREATE_PATH ? this.plan.createFault(volumeName(body)) : 'none';
    if (req.method === 'POST' && path === CREATE_PATH) this.injected[fault] += 1;
    switch (fault) {
      case 'fail':
        return answer(res, 500, { message: 'Internal error injected by the fault plan', httpStatusCode: 500, errorCode: 0 });
      case 'create-then-hang':
        await this.forward(req, body);
        return gaveUp;
      case 'hang-then-create':
        await gaveUp;
        await this.forward(req, body);
        return;
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, this.plan.slowMs ?? 200));
        break;
      case 'none':
        break;
    }
    const forwarded = await this.forward(req, body);
    return answer(res, forwarded.status, forwarded.body);
  }

  private async forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'accept']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const response = await request(`${this.gateway.url}${req.url ?? '/'}`, {
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      dispatcher: this.upstream,
      ...(body.length > 0 && { body }),
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }
}

function volumeName(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { name?: unknown };
    return typeof parsed.name === 'string' ? parsed.name : '';
  } catch {
    return '';
  }
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}
