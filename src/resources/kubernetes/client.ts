// Connecting to the Kubernetes API (@kubernetes/client-node 1.x: 2.x needs Node ≥ 22.19) and turning
// its failures into one line a storage admin can act on — the API server's own message, e.g. an RBAC
// refusal, never the client's dump of response headers.
import { ApiException, KubeConfig } from '@kubernetes/client-node';

export interface KubeConnection {
  /** A kubeconfig file; otherwise in-cluster (a Pod's service account), else KUBECONFIG / ~/.kube/config. */
  kubeconfig?: string;
}

export function loadKubeConfig({ kubeconfig }: KubeConnection): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfig) config.loadFromFile(kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) config.loadFromCluster();
  else config.loadFromDefault();
  if (!config.getCurrentCluster()) {
    throw new KubernetesError(`no Kubernetes cluster configured${kubeconfig ? ` in ${kubeconfig}` : ' (give --kubeconfig, set KUBECONFIG, or run in a Pod)'}`);
  }
  return config;
}

/** The namespace of the kubeconfig's current context, or `default`. */
export function contextNamespace(config: KubeConfig): string {
  return config.getContextObject(config.getCurrentContext())?.namespace || 'default';
}

export class KubernetesError extends Error {
  override name = 'KubernetesError';
  constructor(
    message: string,
    /** HTTP status from the API server; 0 when it did not answer. */
    readonly status = 0,
  ) {
    super(message);
  }
}

const REASONS: Readonly<Record<number, string>> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 410: 'Gone', 422: 'Invalid' };

/**
 * Runs `call`, again after a 429 (the API server's "too many requests", also what a just-created
 * CRD answers while its storage initialises) as client-go does: after Retry-After seconds (1 s
 * when absent), at most `attempts` times.
 */
export async function retryingTooManyRequests<T>(call: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (statusOf(error) !== 429 || attempt >= attempts) throw error;
      const after = Number((error as ApiException<unknown>).headers?.['retry-after']);
      await new Promise((resolve) => setTimeout(resolve, Number.isFinite(after) && after > 0 ? Math.min(after, 10) * 1000 : 1000));
    }
  }
}

/** HTTP status of an API error (0 when the API server did not answer). */
export function statusOf(error: unknown): number {
  if (error instanceof KubernetesError) return error.status;
  return error instanceof ApiException ? error.code : 0;
}

/** `the API server refused (403 Forbidden): csmtenants… is forbidden: User "bob" cannot create …`. */
export function describeApiError(error: unknown, server?: string): KubernetesError {
  if (error instanceof KubernetesError) return error;
  if (error instanceof ApiException) {
    const code = error.code;
    const body = typeof error.body === 'string' ? safeJson(error.body) : error.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    const text = typeof message === 'string' && message ? message : code === 401 ? 'the credentials in the kubeconfig were not accepted' : 'no message';
    return new KubernetesError(`the API server refused (${code} ${REASONS[code] ?? 'error'}): ${text}`, code);
  }
  const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
  return new KubernetesError(`cannot reach the Kubernetes API server${server ? ` at ${server}` : ''}: ${cause}`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
}
