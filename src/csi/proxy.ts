// `storage-authz csi-proxy`: a CSI gRPC proxy between kubelet and a CSI node plugin. It listens on
// the socket kubelet uses and forwards every call of every CSI service to the plugin's real socket
// as raw bytes (request, response, metadata, deadline, status and details untouched; server
// streams piped), so nothing the plugin says is lost in a decode/encode round trip. Only
// NodePublishVolume is read: the workload pod's token (CSIServiceAccountToken) and pod info from the
// volume context go to `serve` for a mount decision first; a refusal is PermissionDenied and the
// plugin is never called. Controller RPCs carry no pod token and pass through unchecked.
import { readFile, rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { Agent, request, type Dispatcher } from 'undici';
import type { MountDecision, MountPod } from './mountDecision.js';
import { csiServices } from './spec.js';
import type { Logger } from '../telemetry/log.js';

const NODE_PUBLISH_VOLUME = '/csi.v1.Node/NodePublishVolume';
const TOKENS_KEY = 'csi.storage.k8s.io/serviceAccount.tokens';
const POD_KEYS = {
  name: 'csi.storage.k8s.io/pod.name',
  namespace: 'csi.storage.k8s.io/pod.namespace',
  uid: 'csi.storage.k8s.io/pod.uid',
  serviceAccount: 'csi.storage.k8s.io/serviceAccount.name',
} as const;

export interface CsiProxyOptions {
  /** Where kubelet connects: `unix:/path` (a stale socket file is replaced) or `host:port`. */
  listen: string;
  /** The node plugin's own socket: `unix:/path` or `host:port`. */
  plugin: string;
  /** The mount decision endpoint of `serve`, e.g. https://storage-authz.example/proxy/mount/. */
  decisionUrl: string;
  /** PEM trusted for decisionUrl (default: the system's CAs). */
  decisionCa?: string;
  /** The node plugin pod's own projected token, re-read for every decision (kubelet rotates it). */
  tokenFile: string;
  /** The audience of the pod tokens kubelet requests for us (CSIDriver spec.tokenRequests). */
  audience: string;
  logger: Logger;
}

export interface RunningCsiProxy {
  /** The bound address (`unix:/path`, or 127.0.0.1:<port>). */
  address: string;
  close(): Promise<void>;
}

const raw = (bytes: Buffer): Buffer => bytes;

interface Refusal {
  code: grpc.status;
  details: string;
}

export async function startCsiProxy(options: CsiProxyOptions): Promise<RunningCsiProxy> {
  const services = csiServices();
  const plugin = new grpc.Client(options.plugin, grpc.credentials.createInsecure());
  const dispatcher: Dispatcher = new Agent({ connect: options.decisionCa ? { ca: options.decisionCa } : {}, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const server = new grpc.Server();

  for (const service of Object.values(services)) {
    const passthrough: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(service)) {
      if (method.requestStream) throw new Error(`CSI method ${method.path} streams requests; the proxy has no form for it`);
      passthrough[name] = { ...method, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw };
      if (method.responseStream) {
        handlers[name] = forwardStream(method.path);
      } else {
        const check = method.path === NODE_PUBLISH_VOLUME ? (bytes: Buffer) => checkPublish(method.requestDeserialize(bytes) as PublishRequest) : undefined;
        handlers[name] = forwardUnary(method.path, check);
      }
    }
    server.addService(passthrough, handlers);
  }

  function forwardUnary(path: string, check?: (bytes: Buffer) => Promise<Refusal | undefined>): grpc.handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      const forward = () => {
        const upstream = plugin.makeUnaryRequest(path, raw, raw, call.request, call.metadata, { deadline: call.getDeadline() }, (error, response) => {
          if (error) callback({ code: error.code, details: error.details, metadata: error.metadata });
          else callback(null, response);
        });
        upstream.on('metadata', (metadata) => call.sendMetadata(metadata));
        call.on('cancelled', () => upstream.cancel());
      };
      if (!check) return forward();
      check(call.request).then(
        (refusal) => (refusal ? callback(refusal) : forward()),
        (error: unknown) => {
          options.logger.error({ err: (error as Error).message }, 'csi-proxy: mount check failed');
          callback({ code: grpc.status.UNAVAILABLE, details: 'storage-authz: the mount could not be checked; retry' });
        },
      );
    };
  }

  function forwardStream(path: string): grpc.handleServerStreamingCall<Buffer, Buffer> {
    return (call) => {
      const upstream = plugin.makeServerStreamRequest(path, raw, raw, call.request, call.metadata, { deadline: call.getDeadline() });
      upstream.on('metadata', (metadata) => call.sendMetadata(metadata));
      upstream.on('data', (chunk: Buffer) => call.write(chunk));
      upstream.on('error', (error: grpc.ServiceError) => call.emit('error', { code: error.code, details: error.details, metadata: error.metadata }));
      upstream.on('end', () => call.end());
      call.on('cancelled', () => upstream.cancel());
    };
  }

  /** undefined: forward; a Refusal: answer it and never call the plugin. */
  async function checkPublish(publish: PublishRequest): Promise<Refusal | undefined> {
    // The spec's InvalidArgument cases first, so a malformed call gets the error the plugin would give.
    for (const field of ['volume_id', 'target_path', 'volume_capability'] as const) {
      if (!publish[field]) return { code: grpc.status.INVALID_ARGUMENT, details: `${field} is required` };
    }
    const context = publish.volume_context ?? {};
    const found = podTokenOf(context, options.audience);
    if (typeof found === 'object' && 'code' in found) return found;
    const pod = podOf(context);
    if (!pod) {
      return { code: grpc.status.FAILED_PRECONDITION, details: `storage-authz: no pod info in the volume context; the CSIDriver needs podInfoOnMount: true` };
    }
    const decision = await decide({ token: found, pod, volumeId: publish.volume_id });
    if ('code' in decision) return decision;
    if (decision.allowed) return undefined;
    return { code: grpc.status.PERMISSION_DENIED, details: `storage-authz: ${decision.message}` };
  }

  async function decide(body: { token: string; pod: MountPod; volumeId: string }): Promise<MountDecision | Refusal> {
    const bearer = (await readFile(options.tokenFile, 'utf8')).trim();
    const response = await request(options.decisionUrl, {
      method: 'POST',
      dispatcher,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.body.text();
    if (response.statusCode === 200) return JSON.parse(text) as MountDecision;
    let message = text;
    try {
      message = String((JSON.parse(text) as { error?: unknown }).error ?? text);
    } catch {
      // not JSON: the text is the message
    }
    // Our credentials refused (revoked tenant, untrusted node plugin): the mount is refused too.
    if (response.statusCode === 401 || response.statusCode === 403) return { code: grpc.status.PERMISSION_DENIED, details: `storage-authz refused this node plugin: ${message}` };
    return { code: grpc.status.UNAVAILABLE, details: `storage-authz: the mount decision failed (${response.statusCode}: ${message}); retry` };
  }

  if (options.listen.startsWith('unix:')) await rm(options.listen.slice('unix:'.length).replace(/^\/\/+/, '/'), { force: true });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  options.logger.info({ listen: options.listen, plugin: options.plugin }, 'csi-proxy listening');
  return {
    address: options.listen.startsWith('unix:') ? options.listen : `${options.listen.slice(0, options.listen.lastIndexOf(':'))}:${port}`,
    async close() {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      plugin.close();
      await dispatcher.close();
    },
  };
}

interface PublishRequest {
  volume_id: string;
  target_path: string;
  volume_capability?: unknown;
  volume_context?: Record<string, string>;
}

/**
 * The pod's token for our audience from kubelet's `serviceAccount.tokens` ({"<audience>": {token,
 * expirationTimestamp}}). Missing: Unavailable, so kubelet retries (CSI token requests docs).
 */
function podTokenOf(context: Record<string, string>, audience: string): string | Refusal {
  const missing = { code: grpc.status.UNAVAILABLE, details: `storage-authz: no pod service-account token for audience "${audience}" in the volume context; the CSIDriver needs tokenRequests: [{audience: ${audience}}]` };
  const text = context[TOKENS_KEY];
  if (!text) return missing;
  try {
    const token = (JSON.parse(text) as Record<string, { token?: unknown } | undefined>)[audience]?.token;
    return typeof token === 'string' && token ? token : missing;
  } catch {
    return { code: grpc.status.INVALID_ARGUMENT, details: `storage-authz: ${TOKENS_KEY} in the volume context is not JSON` };
  }
}

function podOf(context: Record<string, string>): MountPod | undefined {
  const pod = { name: context[POD_KEYS.name], namespace: context[POD_KEYS.namespace], uid: context[POD_KEYS.uid], serviceAccount: context[POD_KEYS.serviceAccount] };
  return pod.name && pod.namespace && pod.uid && pod.serviceAccount ? (pod as MountPod) : undefined;
}
