// The service's own HTTP calls to arrays, shared by the adapters: one connection pool per endpoint
// and TLS mode (certificates verified unless the Storage says skip), bounded by a timeout, and an
// unreachable array reported as 502 in the driver's terms.
import { Agent, request, type Dispatcher } from 'undici';
import type { StorageSystem } from '../resources/types.js';
import { ArrayLookupError } from './types.js';

export interface ArrayResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A response whose body is still to be read: a listing too large to hold as text (jsonStream.ts). */
export interface ArrayStreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** undici's body: a Readable that can also be read whole (`text()`), e.g. an error answer. */
  body: Dispatcher.ResponseData['body'];
}

export class ArrayHttp {
  private readonly agents = new Map<string, Dispatcher>();

  constructor(
    /** For messages: "PowerStore", "PowerFlex". */
    private readonly arrayName: string,
    private readonly options: { ca?: string; requestTimeoutMs: number },
  ) {}

  async send(system: StorageSystem, method: string, path: string, headers: Record<string, string>, body?: string): Promise<ArrayResponse> {
    try {
      const response = await this.request(system, method, path, headers, body);
      return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
    } catch (error) {
      throw this.unreachable(system, error);
    }
  }

  /** A GET whose body the caller reads as a stream (and must consume or destroy). */
  async stream(system: StorageSystem, path: string, headers: Record<string, string>): Promise<ArrayStreamResponse> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.request(system, 'GET', path, headers);
    } catch (error) {
      throw this.unreachable(system, error);
    }
    return { status: response.statusCode, headers: response.headers, body: response.body };
  }

  private request(system: StorageSystem, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Dispatcher.ResponseData> {
    return request(new URL(path, system.endpoint), {
      method: method as Dispatcher.HttpMethod,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body,
      dispatcher: this.agentFor(system),
    });
  }

  private unreachable(system: StorageSystem, error: unknown): ArrayLookupError {
    return new ArrayLookupError(`${this.arrayName} system ${system.systemID} at ${system.endpoint} is unreachable: ${(error as Error).message}`, 502, { cause: error });
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }

  private agentFor(system: StorageSystem): Dispatcher {
    const key = `${system.endpoint}|${system.skipCertificateValidation}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({
        connect: {
          rejectUnauthorized: !system.skipCertificateValidation,
          ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
          timeout: this.options.requestTimeoutMs,
        },
        headersTimeout: this.options.requestTimeoutMs,
        bodyTimeout: this.options.requestTimeoutMs,
      });
      this.agents.set(key, agent);
    }
    return agent;
  }
}

/** An array's response body as JSON, or undefined when it is not JSON (the caller reports it as unreadable). */
export function responseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
