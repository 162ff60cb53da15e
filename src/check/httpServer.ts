// The HTTP/1.1 face of a decision function, for ext_authz's `http_service`: Envoy sends the tenant's
// request as it came (method, `:path`, every header, the buffered body) and reads the answer as
// httpResponse.ts writes it. Measured against the gRPC Check: the transport alone cost a trivial
// service 78 µs of CPU per request over HTTP/1.1 against 237 µs over grpc-js
// (bench/ext-authz-transport.ts). The gRPC server (server.ts) still serves health and the access log.
import http from 'node:http';
import type { Decide, Decision, RequestView } from '../pipeline/types.js';
import { silentLogger, type Logger } from '../telemetry/log.js';
import { budgetMs, decideWithinBudget, failedClosed, logDenial, type DecisionBudget } from './decide.js';
import { HEALTH_PATH, HEALTHY_STATUS, TIMEOUT_HEADER } from './httpContract.js';
import { toHttpAnswer, type HttpAnswer } from './httpResponse.js';
import { listenOn } from './listen.js';

/** Far above the edge's max_request_bytes (64 KiB): a caller that is not our edge is cut off, not buffered. */
const MAX_BODY_BYTES = 1 << 20;
const EMPTY = Buffer.alloc(0);

export interface HttpCheckServerOptions extends DecisionBudget {
  decide: Decide;
  logger?: Logger;
}

export interface HttpCheckServer {
  /** Binds `host:port` or `unix:/path`; resolves to the bound TCP port (0 for unix sockets). */
  listen(address: string): Promise<number>;
  /** Healthy (HEALTH_PATH) once configuration and policy are loaded; not while loading or draining. */
  setServing(serving: boolean): void;
  /** Stops accepting, lets in-flight checks answer for up to `graceMs`, then closes every connection. */
  close(graceMs?: number): Promise<void>;
}

/** Names lower-cased and repeats joined with ',', as Envoy's CheckRequest gives them (request.ts). */
function viewOf(req: http.IncomingMessage, body: Buffer): RequestView {
  const headers: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return { id: headers['x-request-id'] ?? '', method: (req.method ?? '').toUpperCase(), path: req.url ?? '', headers, body };
}

/** The decision's answer, or a 503 deny when it cannot be written as one (a header Envoy would drop, a value HTTP cannot carry). */
function send(res: http.ServerResponse, decision: Decision, request: RequestView, logger: Logger): void {
  let written: HttpAnswer;
  try {
    written = toHttpAnswer(decision, request.path);
    res.writeHead(written.status, written.headers);
  } catch (error) {
    logger.error({ err: error, requestId: request.id }, 'decision cannot be answered over HTTP; denying');
    written = toHttpAnswer(failedClosed('authorization service error', 'unanswerable-decision'), request.path);
    res.writeHead(written.status, written.headers);
  }
  res.end(written.body);
}

export function createHttpCheckServer(options: HttpCheckServerOptions): HttpCheckServer {
  const logger = options.logger ?? silentLogger;
  let serving = false;
  let closing: Promise<void> | undefined;
  const server = http.createServer((req, res) => {
    // Envoy reads no Date; not writing one saves a clock read and a format per check.
    res.sendDate = false;
    if (req.url === HEALTH_PATH) {
      req.resume();
      const up = serving && !closing;
      res.writeHead(up ? HEALTHY_STATUS : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: up ? 'SERVING' : 'NOT_SERVING' }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        logger.error({ bytes: size }, 'check request body over the limit; closing the connection');
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const request = viewOf(req, chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      const timeout = Number(request.headers[TIMEOUT_HEADER]);
      const budget = budgetMs(timeout > 0 ? Date.now() + timeout : Infinity, options);
      void decideWithinBudget(options.decide, request, budget, logger).then((decision) => {
        logDenial(logger, request, decision);
        send(res, decision, request, logger);
      });
    });
  });
  // Envoy keeps its connections to the authorization cluster open between checks.
  server.keepAliveTimeout = 10 * 60_000;

  return {
    setServing(next) {
      serving = next;
    },
    listen: (address) => listenOn(server, address),
    close(graceMs = 5000) {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
