// ResourceSource backed by the Kubernetes API: CSMTenant, CSMRole and Storage objects of one
// namespace and the Secrets holding array credentials, watched through @kubernetes/client-node's
// ListWatch informers. Each object's acceptance is its own (accept.ts), reported in its
// `status.conditions` Ready; only the replica holding the Lease writes status.
//
// Watches: the informer resumes from the last resourceVersion after a dropped connection and
// relists when the API server answers 410 Gone (the version was compacted). When the API server
// cannot be reached the informer stops; we restart it with a capped backoff, so an API-server
// restart only delays changes, and the configuration in force keeps deciding meanwhile.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  ListWatch,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Secret,
} from '@kubernetes/client-node';
import type { Logger } from '../../telemetry/log.js';
import { CredentialFiles, CredentialsError } from '../credentials.js';
import { GROUP, KIND_NAMES, VERSION } from '../crds.js';
import { RESOURCE_KINDS, type ResourceKind } from '../objects.js';
import { sameResources, type SourcedObject } from '../snapshot.js';
import type { ArrayCredentials, ResourceSnapshot, ResourceSource, StatusReporter, StorageReport, StorageSystem, TenantPoolUsage } from '../types.js';
import { accept, objectKey, type ObservedObject, type Verdict } from './accept.js';
import { describeApiError, loadKubeConfig, statusOf } from './client.js';
import { LeaseElector } from './lease.js';

export const FIELD_MANAGER = 'storage-authz';

export interface KubernetesResourcesOptions {
  kubeconfig?: string;
  namespace: string;
  /** This replica's name in the Lease (the Pod name in a cluster). */
  identity: string;
  leaseName?: string;
  leaseDurationSeconds?: number;
  /** Where SecretProviderClass volumes are mounted (`<dir>/<name>/<object>`); Secrets are read from the API. */
  secretsDir?: string;
  logger: Logger;
  /** Quiet time after the last watch event before the objects are accepted again. */
  debounceMs?: number;
  /** How long the first list may keep failing with a passing error (429, 5xx, no answer) before open() gives up. */
  startTimeoutMs?: number;
  /** Longest wait between attempts to re-establish a failed watch. */
  maxRetryMs?: number;
  /** Called after this replica wrote an object's status (for tests and metrics). */
  onStatusWritten?: (kind: ResourceKind, name: string, status: Record<string, unknown>) => void;
}

interface CustomObject extends KubernetesObject {
  spec?: unknown;
  status?: { conditions?: Condition[] } & Record<string, unknown>;
}

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

type Informer = ListWatch<KubernetesObject>;

interface InformerState {
  informer: Informer;
  /** `csmtenants`, `secrets`: for messages. */
  what: string;
  /** Restarts since the last successful list or watch event (the backoff exponent). */
  attempts: number;
  listed: boolean;
  lastError?: unknown;
}

export class KubernetesResources implements ResourceSource, StatusReporter {
  private snapshot: ResourceSnapshot = Object.freeze({ generation: 0, tenants: new Map(), roles: new Map(), storage: new Map() });
  private accepted = new Map<string, SourcedObject>();
  private verdicts = new Map<string, Verdict>();
  private readonly listeners = new Set<(snapshot: ResourceSnapshot) => void>();
  private readonly informers: Record<ResourceKind, Informer>;
  private readonly secrets: Informer;
  private readonly lease: LeaseElector;
  private readonly custom: CustomObjectsApi;
  private readonly files?: CredentialFiles;
  private readonly storageReports = new Map<string, StorageReport>();
  private readonly tenantUsage = new Map<string, readonly TenantPoolUsage[]>();
  /** kind/name → the status being written, so a burst of rebuilds writes it once. */
  private readonly writing = new Map<string, string>();
  private statusQueue: Promise<void> = Promise.resolve();
  private rebuildTimer: NodeJS.Timeout | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly states = new Map<Informer, InformerState>();
  private readonly where: string;

  private constructor(
    private readonly config: KubeConfig,
    private readonly options: KubernetesResourcesOptions,
  ) {
    const { namespace } = options;
    this.where = `namespace ${namespace}`;
    this.custom = config.makeApiClient(CustomObjectsApi);
    const core = config.makeApiClient(CoreV1Api);
    const watch = new Watch(config);
    const informer = (path: string, list: () => Promise<KubernetesListObject<KubernetesObject>>, what: string): Informer => {
      // Back-off restarts from the first attempt again once a list or a watch event gets through.
      const state = { what, attempts: 0, listed: false } as InformerState;
      const listed = async () => {
        const result = await list();
        state.attempts = 0;
        state.listed = true;
        return result;
      };
      state.informer = new ListWatch<KubernetesObject>(path, watch, listed, false);
      for (const event of ['add', 'update', 'delete'] as const) {
        state.informer.on(event, () => {
          state.attempts = 0;
          this.scheduleRebuild();
        });
      }
      this.restartOnError(state);
      this.states.set(state.informer, state);
      return state.informer;
    };
    this.informers = Object.fromEntries(
      RESOURCE_KINDS.map((kind) => {
        const { plural } = KIND_NAMES[kind];
        const list = () => this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural }) as Promise<KubernetesListObject<KubernetesObject>>;
        return [kind, informer(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural}`, list, plural)];
      }),
    ) as Record<ResourceKind, Informer>;
    this.secrets = informer(`/api/v1/namespaces/${namespace}/secrets`, () => core.listNamespacedSecret({ namespace }) as Promise<KubernetesListObject<KubernetesObject>>, 'secrets');
    if (options.secretsDir) this.files = new CredentialFiles(options.secretsDir);
    this.lease = new LeaseElector(config.makeApiClient(CoordinationV1Api), {
      namespace,
      name: options.leaseName ?? 'storage-authz',
      identity: options.identity,
      leaseDurationSeconds: options.leaseDurationSeconds,
      logger: options.logger,
      onChange: (leader) => {
        if (leader) this.syncStatus();
      },
    });
  }

  /** Lists everything once (rejecting with the API server's reason if that fails), then watches. */
  static async open(options: KubernetesResourcesOptions): Promise<KubernetesResources> {
    const config = loadKubeConfig(options);
    const resources = new KubernetesResources(config, options);
    try {
      await resources.listAll();
    } catch (error) {
      await resources.close();
      throw error;
    }
    resources.rebuild();
    resources.lease.start();
    const s = resources.snapshot;
    options.logger.info({ namespace: options.namespace, tenants: s.tenants.size, roles: s.roles.size, storage: s.storage.size }, 'resources loaded from the Kubernetes API');
    return resources;
  }

  current(): ResourceSnapshot {
    return this.snapshot;
  }

  onChange(listener: (snapshot: ResourceSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Secrets come from the watched Secret (a rotation applies to the next request); SecretProviderClass volumes from files. */
  async credentials(system: StorageSystem): Promise<ArrayCredentials> {
    const ref = system.credentials;
    if (ref.kind === 'secretProviderClass') {
      if (!this.files) throw new CredentialsError(`Storage "${system.name}": SecretProviderClass "${ref.name}" needs --secrets-dir (where its volume is mounted)`);
      return this.files.read(system);
    }
    const problem = this.secretProblem(ref.name);
    if (problem) throw new CredentialsError(`Storage "${system.name}": ${problem}`);
    const data = (this.secrets.get(ref.name, this.options.namespace) as V1Secret).data!;
    const decode = (key: string) => Buffer.from(data[key]!, 'base64').toString('utf8').replace(/\r?\n$/, '');
    return { username: decode('username'), password: decode('password') };
  }

  isLeader(): boolean {
    return this.lease.isLeader();
  }

  reportStorage(name: string, report: StorageReport): void {
    this.storageReports.set(name, { ...this.storageReports.get(name), ...report });
    this.syncStatus();
  }

  reportTenantUsage(tenant: string, usage: readonly TenantPoolUsage[]): void {
    this.tenantUsage.set(tenant, usage);
    this.syncStatus();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.rebuildTimer) clearTimeout(this.rebuildTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    await Promise.all([...Object.values(this.informers), this.secrets].map((informer) => informer.stop()));
    await this.statusQueue;
    await this.lease.stop();
  }

  /**
   * Starts every informer and waits for its first list. What may pass by itself (429 while a new
   * CRD's storage initialises, a 5xx, no answer yet) is retried like any failed watch, until
   * `startTimeoutMs`; a refusal (401, 403, 404: CRDs missing) fails at once.
   */
  private async listAll(): Promise<void> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 60_000);
    const all = [...RESOURCE_KINDS.map((kind) => this.states.get(this.informers[kind])!), this.states.get(this.secrets)!];
    for (const state of all) void state.informer.start();
    for (;;) {
      const refused = all.find((state) => !state.listed && [401, 403, 404].includes(statusOf(state.lastError)));
      const waiting = all.find((state) => !state.listed);
      if (!waiting) return;
      if (refused || Date.now() > deadline || this.closed) {
        const failed = refused ?? waiting;
        const reason = failed.lastError === undefined ? 'no answer' : describeApiError(failed.lastError, this.config.getCurrentCluster()?.server).message;
        const hint = statusOf(failed.lastError) === 404 && failed.what !== 'secrets' ? ' (are the CRDs installed? kubectl apply -f charts/storage-authz/crds/)' : '';
        throw new Error(`cannot list ${failed.what} in namespace ${this.options.namespace}: ${reason}${hint}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * The informer stops on an error other than 410; start it again (it resumes from its
   * resourceVersion) with a capped backoff. One restart pending at a time; the AbortError of a
   * request the informer aborted itself (on restart) is no failure.
   */
  private restartOnError(state: InformerState): void {
    let pending: NodeJS.Timeout | undefined;
    state.informer.on('error', (error: unknown) => {
      if (this.closed || pending || (error as Error | undefined)?.name === 'AbortError') return;
      state.lastError = error;
      // Refused before the first list: open() reports it, retrying would not help.
      if (!state.listed && [401, 403, 404].includes(statusOf(error))) return;
      const delay = Math.min(this.options.maxRetryMs ?? 8000, 250 * 2 ** state.attempts++);
      if (state.attempts === 1 && state.listed) this.options.logger.warn({ watch: state.what, err: describeApiError(error).message }, 'watch interrupted; retrying (the resources in force keep deciding)');
      pending = setTimeout(() => {
        this.retryTimers.delete(pending!);
        pending = undefined;
        if (!this.closed) void state.informer.start();
      }, delay);
      this.retryTimers.add(pending);
    });
  }

  private scheduleRebuild(): void {
    if (this.closed) return;
    if (this.rebuildTimer) clearTimeout(this.rebuildTimer);
    this.rebuildTimer = setTimeout(() => {
      this.rebuildTimer = undefined;
      this.rebuild();
    }, this.options.debounceMs ?? 50);
  }

  private observed(): ObservedObject[] {
    return RESOURCE_KINDS.flatMap((kind) =>
      this.informers[kind].list(this.options.namespace).map((object) => ({
        kind,
        name: object.metadata?.name ?? '',
        generation: object.metadata?.generation ?? 0,
        document: object as unknown as Record<string, unknown>,
      })),
    );
  }

  private rebuild(): void {
    if (this.closed) return;
    const { logger } = this.options;
    const result = accept(this.observed(), this.accepted, this.snapshot.generation + 1, this.where);
    this.accepted = result.accepted;
    for (const [key, verdict] of result.verdicts) {
      const credentialProblem = key.startsWith('Storage/') && verdict.ready ? this.storageCredentialProblem(key) : undefined;
      const final: Verdict = credentialProblem ? { ...verdict, ready: false, reason: 'CredentialsMissing', message: credentialProblem } : verdict;
      const before = this.verdicts.get(key);
      if (!final.ready && (before?.message !== final.message || before.observedGeneration !== final.observedGeneration)) {
        logger.warn({ namespace: this.options.namespace, object: key, reason: final.reason }, `object not accepted: ${final.message}`);
      }
      result.verdicts.set(key, final);
    }
    this.verdicts = result.verdicts;
    if (!sameResources(this.snapshot, result.snapshot)) {
      this.snapshot = result.snapshot;
      const s = result.snapshot;
      logger.info({ namespace: this.options.namespace, generation: s.generation, tenants: s.tenants.size, roles: s.roles.size, storage: s.storage.size }, 'resources changed');
      for (const listener of this.listeners) {
        try {
          listener(s);
        } catch (error) {
          logger.error({ err: (error as Error).message }, 'resources change listener failed');
        }
      }
    }
    this.syncStatus();
  }

  private storageCredentialProblem(key: string): string | undefined {
    const sourced = this.accepted.get(key);
    if (sourced?.object.kind !== 'Storage' || sourced.object.storage.credentials.kind !== 'secret') return undefined;
    return this.secretProblem(sourced.object.storage.credentials.name);
  }

  /** Why the credential Secret `name` cannot be used, or undefined when it can. */
  private secretProblem(name: string): string | undefined {
    const secret = this.secrets.get(name, this.options.namespace) as V1Secret | undefined;
    if (!secret) return `Secret "${name}" not found in namespace ${this.options.namespace}`;
    const missing = ['username', 'password'].filter((key) => !secret.data?.[key]);
    return missing.length ? `Secret "${name}" has no ${missing.map((k) => `"${k}"`).join(' or ')} key` : undefined;
  }

  /** Leader only: writes each object's status where it differs from what the object shows. */
  private syncStatus(): void {
    if (this.closed || !this.lease.isLeader()) return;
    for (const kind of RESOURCE_KINDS) {
      for (const object of this.informers[kind].list(this.options.namespace) as CustomObject[]) {
        const name = object.metadata?.name ?? '';
        const key = objectKey(kind, name);
        const verdict = this.verdicts.get(key);
        if (!verdict) continue;
        const status = this.desiredStatus(kind, name, verdict, object.status);
        if (sameStatus(object.status, status)) continue;
        const text = JSON.stringify(status);
        if (this.writing.get(key) === text) continue;
        this.writing.set(key, text);
        this.statusQueue = this.statusQueue.then(() => this.writeStatus(kind, name, status)).finally(() => {
          if (this.writing.get(key) === text) this.writing.delete(key);
        });
      }
    }
  }

  private desiredStatus(kind: ResourceKind, name: string, verdict: Verdict, current: CustomObject['status']): Record<string, unknown> {
    const previous = current?.conditions?.find((c) => c.type === 'Ready');
    const status: Condition['status'] = verdict.ready ? 'True' : 'False';
    const ready: Condition = {
      type: 'Ready',
      status,
      reason: verdict.reason,
      message: verdict.message,
      lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      observedGeneration: verdict.observedGeneration,
    };
    const extra: Record<string, unknown> = {};
    if (kind === 'Storage') {
      const report = this.storageReports.get(name);
      if (report?.reachable !== undefined) extra.reachable = report.reachable;
      if (report?.message !== undefined) extra.message = report.message;
      if (report?.lastReconciliation) extra.lastReconciliation = report.lastReconciliation.toISOString().replace(/\.\d+Z$/, 'Z');
    }
    if (kind === 'CSMTenant') {
      const usage = this.tenantUsage.get(name);
      if (usage) {
        extra.usage = usage.map((u) => ({
          systemType: u.systemType, systemID: u.systemID, pool: u.pool, ...(u.quotaKiB !== null && { quotaKiB: u.quotaKiB }),
          usedKiB: u.usedKiB, reservedKiB: u.reservedKiB, volumes: u.volumes, enforcement: u.enforcement, overQuotaKiB: u.overQuotaKiB,
        }));
      }
    }
    return { conditions: [ready], ...extra };
  }

  private async writeStatus(kind: ResourceKind, name: string, status: Record<string, unknown>): Promise<void> {
    if (this.closed || !this.lease.isLeader()) return;
    const { namespace, logger } = this.options;
    try {
      await this.custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: KIND_NAMES[kind].plural,
          name,
          body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name, namespace }, status },
          fieldManager: FIELD_MANAGER,
          force: true,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
      this.options.onStatusWritten?.(kind, name, status);
    } catch (error) {
      // Gone meanwhile (404) is nothing to report; anything else is retried with the next change or relist.
      if (statusOf(error) !== 404) logger.warn({ object: objectKey(kind, name), err: describeApiError(error).message }, 'status not written');
    }
  }
}

/** True when `current` already says what `desired` says (ignoring when the condition last changed). */
function sameStatus(current: CustomObject['status'], desired: Record<string, unknown>): boolean {
  if (!current) return false;
  const strip = (status: Record<string, unknown>) => canonical({ ...status, conditions: (status.conditions as Condition[] | undefined)?.map(({ lastTransitionTime: _, ...rest }) => rest) });
  return strip(current) === strip(desired);
}

/** JSON with object keys sorted, so the API server's key order does not matter. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
