// A fault-injecting HTTPS front for a fake array (issue 10's fault test and demos of failure): every
// request is passed to the array untouched, except volume creates (as the array type's `creates`
// recognises them: PowerFlex's `POST /api/types/Volume/instances`, Unisphere's storage-group edit
// with `addVolumeParam`), which get the fault the plan names for their volume name:
// - `fail`: answered 500 by the "array", nothing created;
// - `create-then-hang`: created, then the answer is held until the client (Envoy) gives up;
// - `hang-then-create`: held until the client gives up, then created (the array executed it late);
// - `slow`: answered after `slowMs`, created.
// Hangs end on the client's own timeout (Envoy's route timeout), never on a timer of ours.
// A test can also hold the next request of a kind (`hold`) until it releases it, to make the array
// see requests in the order a race needs.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { generateServingCertificate } from '../sidecar/certificates.js';

export type CreateFault = 'none' | 'fail' | 'create-then-hang' | 'hang-then-create' | 'slow';

/** How an array type's volume creates look, and how it answers a failure. */
export interface CreateRecogniser {
  /** The volume name a request creates, or undefined when it creates none. */
  createOf(method: string, path: string, body: Buffer): string | undefined;
  /** The array's own error body for an injected 500. */
  failureBody: unknown;
}

/** PowerFlex: `POST /api/types/Volume/instances {name, …}`; errors `{message, httpStatusCode, errorCode}`. */
export const POWERFLEX_CREATES: CreateRecogniser = {
  createOf: (method, path, body) => (method === 'POST' && path === '/api/types/Volume/instances' ? String(jsonAt(body, ['name']) ?? '') : undefined),
  failureBody: { message: 'Internal error injected by the fault plan', httpStatusCode: 500, errorCode: 0 },
};

/**
 * Unisphere: `PUT …/sloprovisioning/symmetrix/<sid>/storagegroup/<sg>` with
 * `editStorageGroupActionParam.expandStorageGroupParam.addVolumeParam` (the first element's
 * identifier names it); errors `{message}`.
 */
export const UNISPHERE_CREATES: CreateRecogniser = {
  createOf: (method, path, body) => {
    if (method !== 'PUT' || !/\/sloprovisioning\/symmetrix\/[^/]+\/storagegroup\/[^/]+$/.test(path)) return undefined;
    const attributes = jsonAt(body, ['editStorageGroupActionParam', 'expandStorageGroupParam', 'addVolumeParam', 'volumeAttributes']);
    const first = Array.isArray(attributes) ? (attributes[0] as { volumeIdentifier?: { identifier_name?: unknown } } | undefined) : undefined;
    return first === undefined ? undefined : String(first.volumeIdentifier?.identifier_name ?? '');
  },
  failureBody: { message: 'Internal error injected by the fault plan' },
};

export interface FaultPlan {
  /** The fault for one create request, by the volume name in its body (called once per request). */
  createFault(name: string): CreateFault;
  /** How long a `slow` create takes (ms). Default 200. */
  slowMs?: number;
}

/** The array behind the front. */
export interface FrontedArray {
  url: string;
  ca: string;
}

/** A request the front keeps from the array until `release()`. */
export interface HeldRequest {
  /** Resolves when the request reached the front (its Check was made and it was forwarded). */
  arrived: Promise<void>;
  /** Passes it on to the array. */
  release(): void;
  /** Answers it 500 as the array would (nothing done on the array). */
  fail(): void;
}

type RequestMatcher = (method: string, path: string) => boolean;

export class FaultInjectingFront {
  /** Creates per fault injected so far. */
  readonly injected: Record<CreateFault, number> = { none: 0, fail: 0, 'create-then-hang': 0, 'hang-then-create': 0, slow: 0 };
  private readonly inFlight = new Set<Promise<void>>();
  /** Every hold asked for; `taken` once a request matched it (stopping fails them all: a failed test may leave one held). */
  private readonly holds: { matches: RequestMatcher; taken: boolean; arrived(): void; outcome: Promise<'forward' | 'fail'>; fail(): void }[] = [];
  private server!: Server;
  private readonly upstream: Dispatcher;

  private constructor(
    private readonly array: FrontedArray,
    private readonly creates: CreateRecogniser,
    private readonly plan: FaultPlan,
    readonly ca: string,
  ) {
    this.upstream = new Agent({ connect: { ca: array.ca } });
  }

  static async start(array: FrontedArray, creates: CreateRecogniser, plan: FaultPlan): Promise<FaultInjectingFront> {
    const certificate = await generateServingCertificate(new Date(Date.now() - 60_000), 24 * 3600_000);
    const front = new FaultInjectingFront(array, creates, plan, certificate.certPem);
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

  /** Holds the next request that `matches` (method, path without query or trailing `/`), once. */
  hold(matches: RequestMatcher): HeldRequest {
    let arrived!: () => void;
    let settle!: (how: 'forward' | 'fail') => void;
    const held: HeldRequest = { arrived: new Promise((resolve) => (arrived = resolve)), release: () => settle('forward'), fail: () => settle('fail') };
    this.holds.push({ matches, taken: false, arrived, outcome: new Promise((resolve) => (settle = resolve)), fail: held.fail });
    return held;
  }

  /** Resolves once every request received so far is over, late creates included. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async stop(): Promise<void> {
    for (const hold of this.holds) hold.fail();
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
    const hold = this.holds.find((candidate) => !candidate.taken && candidate.matches(req.method ?? 'GET', path));
    if (hold) {
      hold.taken = true;
      hold.arrived();
      if ((await hold.outcome) === 'fail') return answer(res, 500, this.creates.failureBody);
    }
    const created = this.creates.createOf(req.method ?? 'GET', path, body);
    const fault = created === undefined ? 'none' : this.plan.createFault(created);
    if (created !== undefined) this.injected[fault] += 1;
    switch (fault) {
      case 'fail':
        return answer(res, 500, this.creates.failureBody);
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
    const response = await request(`${this.array.url}${req.url ?? '/'}`, {
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      dispatcher: this.upstream,
      ...(body.length > 0 && { body }),
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }
}

/** The JSON value at a path of object keys in a body, or undefined (not JSON, or absent). */
function jsonAt(body: Buffer, keys: readonly string[]): unknown {
  try {
    let value: unknown = JSON.parse(body.toString('utf8'));
    for (const key of keys) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    return value;
  } catch {
    return undefined;
  }
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}
