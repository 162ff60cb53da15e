// The gRPC face of a decision function: envoy.service.auth.v3.Authorization/Check, grpc.health.v1,
// and envoy.service.accesslog.v3.AccessLogService. Generic over `decide`, so the server mode (the
// pipeline) and the sidecar mode (token injection) share it.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Decide, RequestView } from '../pipeline/types.js';
import { silentLogger, type Logger } from '../telemetry/log.js';
import { budgetMs, decideWithinBudget, failedClosed, logDenial, type DecisionBudget } from './decide.js';
import { removeStaleSocket } from './listen.js';
import { accessLogViewDecoder } from './accessLogView.js';
import { envoyServices } from './protos.js';
import { toRequestView } from './request.js';
import { checkRequestViewDecoder } from './requestView.js';
import { toCheckResponse } from './response.js';
import { checkResponseEncoder } from './responseEncoder.js';
import type { CheckRequestMessage, CheckResponseMessage, StreamAccessLogsMessage, StructMessage } from './wire.js';

/** grpc-js server options: channelz off. */
export const NO_CHANNELZ: grpc.ServerOptions = { 'grpc.enable_channelz': 0 };

const EXT_AUTHZ_NAMESPACE = 'envoy.filters.http.ext_authz';
const AUTHORIZATION_SERVICE = 'envoy.service.auth.v3.Authorization';

/** One HTTP request as Envoy's access log reports it, with what the Check put in dynamic metadata. */
export interface AccessLogRecord {
  requestId: string;
  /** String values the Check emitted under envoy.filters.http.ext_authz. */
  metadata: Record<string, string>;
  /** Upstream (or local reply) status; undefined when Envoy had none (e.g. the client reset). */
  responseCode: number | undefined;
  /**
   * Envoy's response flags that are set (`upstream_request_timeout`, `upstream_remote_reset`,
   * `upstream_connection_failure`, …): the status, if any, is Envoy's own, not the array's.
   */
  envoyFlags: string[];
}

export interface CheckServerOptions extends DecisionBudget {
  /**
   * `gaveUp` is told, with the 503 Envoy is answered, when the decision outlives its budget: the
   * decider can still count and audit the decision Envoy saw.
   */
  decide: Decide;
  /**
   * Receives every HTTP access-log entry Envoy streams, as it arrives: one entry does not wait for
   * the one before, so the callback orders what must stay in order. The stream is answered once
   * every entry it carried is done.
   */
  onAccessLog?(record: AccessLogRecord): Promise<void>;
  logger?: Logger;
}

export interface CheckServer {
  /** Binds `host:port` or `unix:/path`; resolves to the bound TCP port (0 for unix sockets). */
  listen(address: string): Promise<number>;
  /** A second, plaintext gRPC server answering grpc.health.v1 only (kubelet `grpc:` probes reach the pod IP; Check stays on `listen`). */
  listenHealth(address: string): Promise<number>;
  /** SERVING once configuration and policy are loaded; NOT_SERVING while loading or draining. */
  setServing(serving: boolean): void;
  /** NOT_SERVING, then drain in-flight calls for up to `graceMs`, then force-close. */
  close(graceMs?: number): Promise<void>;
}

function metadataStrings(struct: StructMessage | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) {
    if (typeof value.stringValue === 'string') result[key] = value.stringValue;
  }
  return result;
}

function setFlags(flags: Record<string, unknown> | undefined): string[] {
  return Object.entries(flags ?? {})
    .filter(([, value]) => value !== false && value !== undefined && value !== null)
    .map(([name]) => name);
}

/** The call's deadline as epoch ms (Infinity when it has none). */
const deadlineAt = (deadline: grpc.Deadline): number => (deadline instanceof Date ? deadline.getTime() : deadline);

let codecs: { decode: ReturnType<typeof checkRequestViewDecoder>; encode: ReturnType<typeof checkResponseEncoder>; decodeAccessLog: ReturnType<typeof accessLogViewDecoder> } | undefined;
/** Built once per process (they load the Envoy protos). */
const hotCodecs = () => (codecs ??= { decode: checkRequestViewDecoder(), encode: checkResponseEncoder(), decodeAccessLog: accessLogViewDecoder() });

export function createCheckServer(options: CheckServerOptions): CheckServer {
  const logger = options.logger ?? silentLogger;
  const services = envoyServices();
  // Channelz (grpc-js's per-call introspection, on by default) cost 5% of a read's CPU; nothing reads it.
  const server = new grpc.Server(NO_CHANNELZ);
  const health = new HealthImplementation({ '': 'NOT_SERVING', [AUTHORIZATION_SERVICE]: 'NOT_SERVING' });
  health.addToServer(server);
  const healthServer = new grpc.Server(NO_CHANNELZ);
  health.addToServer(healthServer);

  // Check requests and access logs decoded to what is read only (requestView.ts, accessLogView.ts),
  // answers encoded without a converted copy (responseEncoder.ts); everything else is proto-loader's.
  const { decode, encode, decodeAccessLog } = hotCodecs();
  const authorization: grpc.ServiceDefinition = { ...services.authorization, Check: { ...services.authorization.Check!, requestDeserialize: decode, responseSerialize: encode } };
  const accessLog: grpc.ServiceDefinition = { ...services.accessLog, StreamAccessLogs: { ...services.accessLog.StreamAccessLogs!, requestDeserialize: decodeAccessLog } };
  server.addService(authorization, {
    Check(
      call: grpc.ServerUnaryCall<CheckRequestMessage, CheckResponseMessage>,
      callback: grpc.sendUnaryData<CheckResponseMessage>,
    ) {
      let request: RequestView;
      try {
        request = toRequestView(call.request);
      } catch (error) {
        logger.error({ err: error }, 'unreadable CheckRequest; denying');
        callback(null, toCheckResponse(failedClosed('unreadable request', 'bad-check-request')));
        return;
      }
      void decideWithinBudget(options.decide, request, budgetMs(deadlineAt(call.getDeadline()), options), logger).then((decision) => {
        logDenial(logger, request, decision);
        callback(null, toCheckResponse(decision));
      });
    },
  });

  // Envoy keeps its access-log stream open for the life of the connection; on close these are
  // answered (once their entries are applied) so draining does not wait for Envoy to hang up.
  const openLogStreams = new Set<() => void>();
  server.addService(accessLog, {
    StreamAccessLogs(call: grpc.ServerReadableStream<StreamAccessLogsMessage, Record<string, never>>, callback: grpc.sendUnaryData<Record<string, never>>) {
      const running = new Set<Promise<void>>();
      let finished = false;
      const finish = () => {
        openLogStreams.delete(finish);
        void Promise.all(running).then(() => {
          if (finished) return;
          finished = true;
          callback(null, {});
        });
      };
      openLogStreams.add(finish);
      call.on('data', (message: StreamAccessLogsMessage) => {
        for (const entry of message.http_logs?.log_entry ?? []) {
          const record: AccessLogRecord = {
            requestId: entry.request?.request_id ?? '',
            metadata: metadataStrings(entry.common_properties?.metadata?.filter_metadata?.[EXT_AUTHZ_NAMESPACE]),
            responseCode: entry.response?.response_code?.value,
            envoyFlags: setFlags(entry.common_properties?.response_flags),
          };
          if (!options.onAccessLog) continue;
          const applied: Promise<void> = options.onAccessLog(record).catch((error: unknown) => {
            logger.error({ err: error, requestId: record.requestId }, 'access-log entry not applied');
          });
          running.add(applied);
          void applied.then(() => running.delete(applied));
        }
      });
      call.on('end', finish);
      call.on('error', () => openLogStreams.delete(finish));
    },
  });

  let closing: Promise<void> | undefined;
  return {
    listen: (address) => bind(server, address),
    listenHealth: (address) => bind(healthServer, address),
    setServing(serving) {
      if (closing) return;
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', status);
      health.setStatus(AUTHORIZATION_SERVICE, status);
    },
    close(graceMs = 5000) {
      closing ??= new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(AUTHORIZATION_SERVICE, 'NOT_SERVING');
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        for (const finish of [...openLogStreams]) finish();
        healthServer.forceShutdown();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}

function bind(server: grpc.Server, address: string): Promise<number> {
  removeStaleSocket(address);
  return new Promise((resolve, rejectListen) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) =>
      // grpc-js reports a placeholder port for unix sockets.
      error ? rejectListen(new Error(`cannot listen on ${address}: ${error.message}`)) : resolve(address.startsWith('unix:') ? 0 : port),
    );
  });
}
