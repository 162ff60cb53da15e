// The Redis ledger: single node or Sentinel, Dell v1 key layout (a v1 database can be adopted), every
// change one Lua script (src/ledger/redis/scripts.ts). Fails closed and fast: while Redis is
// unreachable or slow every call rejects with LedgerUnavailableError (the decision becomes a 503),
// nothing is queued for later, and the client keeps reconnecting so decisions resume on their own.
import { readFileSync } from 'node:fs';
import { setImmediate as turn } from 'node:timers/promises';
import { Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import type { Quota, SystemType } from '../../resources/types.js';
import { silentLogger, type Logger } from '../../telemetry/log.js';
import { overQuota, refusesOver } from '../quotaCheck.js';
import { decodeReservationId, encodeReservationId, type ReservationRef } from '../reservationId.js';
import { RedisRecentDecisions } from './recentDecisions.js';
import {
  LedgerInputError,
  LedgerUnavailableError,
  type BeginDeleteResult,
  type Hold,
  type HoldKind,
  type HoldSummary,
  type Ledger,
  type PendingHold,
  type PresentRepair,
  type QuotaScope,
  type UndoOptions,
  type ReservationId,
  type ReserveResult,
  type ResizeOptions,
  type ResizeResult,
  type UsageRow,
  type VolumeRow,
} from '../types.js';
import type { DriftReport, ReconcileStore } from '../../reconcile/types.js';
import { assertAgeMs, assertQuota, assertScope, assertSizeKiB, assertVolumeName, shrinkRefused } from '../validate.js';
import { coalesceWritesPerTurn } from './coalescedWrites.js';
import { MasterWatch } from './masterWatch.js';
import { ReplicaTracker } from './replicas.js';
import {
  ABORT_DELETE,
  ABORT_RESIZE,
  BEGIN_DELETE,
  BEGIN_RESIZE,
  COMMIT,
  COMMIT_DELETE,
  COMMIT_RESIZE,
  OWNS,
  RECORD_ABSENT,
  RECORD_PRESENT,
  RELEASE,
  RESERVE,
} from './scripts.js';

export interface RedisLedgerOptions {
  /** `redis://[:password@]host:port[/db]` (or `rediss://`); ignored when `sentinels` is set. */
  url?: string;
  host?: string;
  port?: number;
  /** Sentinel mode: the sentinels to ask for the current master of `name`. */
  sentinels?: { host: string; port: number }[];
  /** Sentinel master name, e.g. `mymaster`. */
  name?: string;
  password?: string;
  /** File holding the Redis password (a mounted Secret); trailing newlines are ignored. */
  passwordFile?: string;
  /** A call slower than this rejects with LedgerUnavailableError. Default 1000. */
  commandTimeoutMs?: number;
  /** How long `connect` waits for the first connection. Default 5000. */
  connectTimeoutMs?: number;
  keyPrefix?: string;
  /**
   * Replicas that must at least hold every write before the call succeeds (Redis `WAIT`, pipelined
   * with the script: no extra round trip). Default 1 in Sentinel mode, 0 for a single node. A write
   * not acknowledged in time rejects with LedgerUnavailableError.
   */
  replicaAcks?: number;
  /**
   * Also wait for every replica in sync with the master (see replicas.ts), so whichever one Sentinel
   * promotes holds every acknowledged write. Default: true in Sentinel mode.
   */
  waitForAllReplicas?: boolean;
  /** Default: half of `commandTimeoutMs`. */
  replicaAckTimeoutMs?: number;
  /** Clock for reservation timestamps (unix ms). */
  now?: () => number;
  logger?: Logger;
}

const SCRIPTS = {
  ledgerReserve: RESERVE,
  ledgerCommit: COMMIT,
  ledgerRelease: RELEASE,
  ledgerBeginDelete: BEGIN_DELETE,
  ledgerCommitDelete: COMMIT_DELETE,
  ledgerAbortDelete: ABORT_DELETE,
  ledgerBeginResize: BEGIN_RESIZE,
  ledgerCommitResize: COMMIT_RESIZE,
  ledgerAbortResize: ABORT_RESIZE,
  ledgerRecordPresent: RECORD_PRESENT,
  ledgerRecordAbsent: RECORD_ABSENT,
  ledgerOwns: OWNS,
} as const;
type ScriptName = keyof typeof SCRIPTS;
/** What defineCommand adds: on the client a promise of the reply, on a pipeline the pipeline. */
type ScriptCall = (...keysThenArgs: string[]) => unknown;

/** Keys outside Dell's layout; see the README "Ledger" section. */
const PENDING_KEY = 'storage-authz:pending';
/** Fields per HSCAN page of a scope's hash. */
const PAGE = 2000;
/** Holds per reply when walking the pending set (holdPages). */
const HOLDS_PER_PAGE = 500;
/**
 * Rows built from a gathered scope before decisions on the event loop get a turn: building the
 * 10^5 rows of a large scope in one go was about 400 ms of a reconciliation pass in a profile, with
 * nothing else let in.
 */
const ROWS_PER_TURN = 5000;
const SCOPES_KEY = 'storage-authz:scopes';
/** Reconciliation: `SET NX PX` lease per system, and one hash field per system holding its last report (JSON). */
const RECONCILE_LEASE_KEY = 'storage-authz:reconcile-lease';
const DRIFT_KEY = 'storage-authz:drift';
/** The last element of a pending member (scripts.ts pendingMember): none for reservations. */
const HOLD_MARKERS: Record<string, HoldKind> = { '': 'reservation', d: 'deletion', e: 'resize' };

const DEFAULT_COMMAND_TIMEOUT_MS = 1000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Reconnect back-off: quick first retries, then at most once a second, forever. */
const reconnectDelay = (attempt: number): number => Math.min(attempt * 100, 1000);

const scopeMember = (s: QuotaScope): string => `${s.systemType}:${s.systemID}:${s.pool}:${s.tenant}`;
/** The scripts' quota arguments: KiB or '' for unlimited; '1' when a charge over it is made and reported. */
const quotaArgument = (quota: Quota): string => (quota.kind === 'limited' ? String(quota.kib) : '');
const reportArgument = (quota: Quota): string => (quota.kind === 'limited' && !refusesOver(quota) ? '1' : '');

const dataKey = (s: QuotaScope): string => `quota:${scopeMember(s)}:data`;
const streamKey = (s: QuotaScope): string => `quota:${scopeMember(s)}:stream`;

export class RedisLedger implements Ledger, ReconcileStore {
  private outageLogged = false;

  private constructor(
    private readonly client: Redis,
    private readonly replicas: ReplicaTracker,
    private readonly replicaAckTimeoutMs: number,
    private readonly now: () => number,
    private readonly logger: Logger,
    private readonly masterWatch: MasterWatch | undefined,
  ) {
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      client.defineCommand(name, { lua, numberOfKeys: 4, readOnly: name === 'ledgerOwns' });
    }
    client.on('ready', () => {
      if (this.outageLogged) this.logger.info('quota store reachable again');
      this.outageLogged = false;
    });
    // ioredis reports every failed reconnect; one line per outage is enough (and the message never
    // holds the password).
    client.on('error', (error: Error) => {
      if (this.outageLogged) return;
      this.outageLogged = true;
      this.logger.warn({ err: error.message }, 'quota store unreachable; decisions needing it are denied with 503');
    });
  }

  /** The recent-decisions stream (audit trail), on this ledger's connection. */
  recentDecisions(maxLength?: number): RedisRecentDecisions {
    return new RedisRecentDecisions(this.client, maxLength);
  }

  /** Connects and waits (at most `connectTimeoutMs`) until Redis answers; else LedgerUnavailableError. */
  static async connect(options: RedisLedgerOptions): Promise<RedisLedger> {
    const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const replicaAcks = options.replicaAcks ?? (options.sentinels ? 1 : 0);
    const waitForAllReplicas = options.waitForAllReplicas ?? Boolean(options.sentinels);
    const replicaAckTimeoutMs = options.replicaAckTimeoutMs ?? Math.floor(commandTimeoutMs / 2);
    if (!Number.isInteger(replicaAcks) || replicaAcks < 0) throw new LedgerInputError('replicaAcks must be a non-negative integer');
    if ((replicaAcks > 0 || waitForAllReplicas) && !(replicaAckTimeoutMs > 0 && replicaAckTimeoutMs < commandTimeoutMs)) {
      throw new LedgerInputError('replicaAckTimeoutMs must be positive and shorter than commandTimeoutMs');
    }
    const client = createClient(options, commandTimeoutMs);
    const replicas = new ReplicaTracker(client, replicaAcks, waitForAllReplicas);
    const logger = options.logger ?? silentLogger;
    const masterWatch = options.sentinels && new MasterWatch(client, options.sentinels, options.name ?? 'mymaster', commandTimeoutMs, logger);
    const ledger = new RedisLedger(client, replicas, replicaAckTimeoutMs, options.now ?? Date.now, logger, masterWatch);
    try {
      await waitUntilReady(client, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    } catch (error) {
      await ledger.close();
      throw error;
    }
    return ledger;
  }

  async reserve(scope: QuotaScope, volume: string, sizeKiB: number, quota: Quota): Promise<ReserveResult> {
    assertScope(scope);
    assertVolumeName(volume);
    assertSizeKiB(sizeKiB);
    assertQuota(quota);
    const reply = (await this.write('ledgerReserve', scope, volume, [
      String(sizeKiB), quotaArgument(quota), String(this.now()), scopeMember(scope), reportArgument(quota),
    ])) as [string, string, string?];
    const [status, value, used] = reply;
    if (status === 'denied' && quota.kind === 'limited') {
      return { status, usedKiB: Number(value), quotaKiB: quota.kib, requestedKiB: sizeKiB };
    }
    if (status === 'approved') {
      const over = overQuota(quota, sizeKiB, Number(used));
      return { status, reservation: encodeReservationId({ kind: 'reservation', scope, volume, generation: Number(value) }), ...(over && { overQuota: over }) };
    }
    if (status === 'already-approved') {
      return { status, reservation: encodeReservationId({ kind: 'reservation', scope, volume, generation: Number(value) }) };
    }
    throw new LedgerUnavailableError(undefined, { cause: new Error(`unexpected reserve reply ${JSON.stringify(reply)}`) });
  }

  async commit(reservation: ReservationId): Promise<boolean> {
    return (await this.writeById('ledgerCommit', decodeReservationId(reservation, 'reservation'))) === 1;
  }

  async release(reservation: ReservationId, options: UndoOptions = {}): Promise<boolean> {
    return (await this.undo('ledgerRelease', decodeReservationId(reservation, 'reservation'), options)) === 1;
  }

  async beginDelete(scope: QuotaScope, volume: string): Promise<BeginDeleteResult> {
    assertScope(scope);
    assertVolumeName(volume);
    const [status, generation] = (await this.write('ledgerBeginDelete', scope, volume, [String(this.now())])) as [string, string?];
    if (status !== 'ok' && status !== 'already-deleting') return { status: 'not-owner' };
    return { status, deletion: encodeReservationId({ kind: 'deletion', scope, volume, generation: Number(generation) }) };
  }

  async commitDelete(deletion: ReservationId): Promise<boolean> {
    return (await this.writeById('ledgerCommitDelete', decodeReservationId(deletion, 'deletion'))) === 1;
  }

  async abortDelete(deletion: ReservationId, options: UndoOptions = {}): Promise<boolean> {
    return (await this.undo('ledgerAbortDelete', decodeReservationId(deletion, 'deletion'), options)) === 1;
  }

  async beginResize(scope: QuotaScope, volume: string, newSizeKiB: number, quota: Quota, options: ResizeOptions = {}): Promise<ResizeResult> {
    assertScope(scope);
    assertVolumeName(volume);
    assertSizeKiB(newSizeKiB);
    assertQuota(quota);
    const reply = (await this.write('ledgerBeginResize', scope, volume, [
      String(newSizeKiB), quotaArgument(quota), String(this.now()), options.allowShrink ? '1' : '', reportArgument(quota),
    ])) as string[];
    const [status, first, second, used] = reply;
    const resizeId = (generation: string | undefined) => encodeReservationId({ kind: 'resize', scope, volume, generation: Number(generation) });
    switch (status) {
      case 'approved': {
        const increaseKiB = Math.max(0, newSizeKiB - Number(second));
        const over = overQuota(quota, increaseKiB, Number(used));
        return { status, resize: resizeId(first), increaseKiB, ...(over && { overQuota: over }) };
      }
      case 'already-resizing':
        return { status, resize: resizeId(first) };
      case 'unchanged':
      case 'busy':
      case 'not-owner':
        return { status };
      case 'shrink':
        throw shrinkRefused(volume, Number(first), newSizeKiB);
      case 'denied':
        if (quota.kind === 'limited') return { status, usedKiB: Number(first), quotaKiB: quota.kib, requestedKiB: newSizeKiB - Number(second) };
    }
    throw new LedgerUnavailableError(undefined, { cause: new Error(`unexpected resize reply ${JSON.stringify(reply)}`) });
  }

  async commitResize(resize: ReservationId): Promise<boolean> {
    return (await this.writeById('ledgerCommitResize', decodeReservationId(resize, 'resize'))) === 1;
  }

  async abortResize(resize: ReservationId, options: UndoOptions = {}): Promise<boolean> {
    return (await this.undo('ledgerAbortResize', decodeReservationId(resize, 'resize'), options)) === 1;
  }

  async recordPresent(scope: QuotaScope, volume: string, sizeKiB: number, reason: string): Promise<PresentRepair> {
    assertScope(scope);
    assertVolumeName(volume);
    assertSizeKiB(sizeKiB);
    return (await this.write('ledgerRecordPresent', scope, volume, [String(sizeKiB), scopeMember(scope), reason])) as PresentRepair;
  }

  async recordAbsent(scope: QuotaScope, volume: string, reason: string): Promise<boolean> {
    assertScope(scope);
    assertVolumeName(volume);
    return (await this.write('ledgerRecordAbsent', scope, volume, [reason])) === 1;
  }

  /** One SMEMBERS, then one pipelined HMGET per scope of the system (no keyspace scan). */
  async holders(systemType: SystemType, systemID: string, volume: string): Promise<QuotaScope[]> {
    assertVolumeName(volume);
    return this.available(async () => {
      const scopes = (await this.client.smembers(SCOPES_KEY)).map(parseScopeMember).filter((s) => s.systemType === systemType && s.systemID === systemID);
      if (scopes.length === 0) return [];
      const pipeline = this.client.pipeline();
      for (const scope of scopes) pipeline.hmget(dataKey(scope), `vol:${volume}:approved`, `vol:${volume}:deleted`);
      const replies = await execPipeline(pipeline);
      // The scripts' state rule: `approved` makes a volume, Dell v1's `deleted` makes it absent.
      return scopes.filter((_, i) => {
        const [approved, deleted] = replies[i] as (string | null)[];
        return approved !== null && deleted === null;
      });
    });
  }

  async owns(scope: QuotaScope, volume: string): Promise<boolean> {
    assertScope(scope);
    assertVolumeName(volume);
    const owned = await this.available(() => this.callScript(this.client, 'ledgerOwns', scope, volume, []) as Promise<number>);
    return owned === 1;
  }

  async usage(tenant?: string): Promise<UsageRow[]> {
    return this.available(async () => {
      const scopes = await this.scopesOf(tenant);
      if (scopes.length === 0) return [];
      const pipeline = this.client.pipeline();
      for (const scope of scopes) pipeline.hmget(dataKey(scope), 'approved_capacity', 'reserved_capacity', 'volume_count');
      const replies = await execPipeline(pipeline);
      return scopes.map((scope, i) => {
        const [approved, reserved, volumes] = (replies[i] as (string | null)[]).map((v) => Number(v ?? 0)) as [number, number, number];
        return { ...scope, usedKiB: approved - reserved, reservedKiB: reserved, volumes };
      });
    });
  }

  /**
   * One pipelined HGETALL per scope of `storage-authz:scopes` (never a keyspace scan): one round
   * trip, and each scope's volumes as one consistent snapshot. Adopted Dell v1 records follow the
   * scripts' state rule (volumeState in scripts.ts).
   */
  async volumes(tenant?: string): Promise<VolumeRow[]> {
    return this.available(async () => {
      const rows: VolumeRow[] = [];
      // Not push(...scopeRows): spreading a scope of about 125,000 rows or more into arguments throws
      // a RangeError (call stack size), and a PowerFlex system holds up to ~131k volumes.
      for (const scope of await this.scopesOf(tenant)) for (const row of await this.volumesOfScope(scope)) rows.push(row);
      return rows;
    });
  }

  /**
   * A scope's data hash read in HSCAN pages of about PAGE fields: a scope of 10^5 volumes holds ~10^6
   * fields, and one HGETALL of it took long enough to pass the 1 s command timeout (seen with 10^5).
   */
  private async volumesOfScope(scope: QuotaScope): Promise<VolumeRow[]> {
    const volumes = new VolumeFields();
    let cursor = '0';
    do {
      const [next, flat] = await this.client.hscan(dataKey(scope), cursor, 'COUNT', PAGE);
      for (let i = 0; i < flat.length; i += 2) volumes.add(flat[i]!, flat[i + 1]!);
      cursor = next;
    } while (cursor !== '0');
    return volumes.rows(scope);
  }

  async pending(olderThanMs: number): Promise<PendingHold[]> {
    assertAgeMs(olderThanMs);
    return this.available(async () => {
      const holds: PendingHold[] = [];
      // Each page's sizes in one pipeline: one pipeline of 10^5 commands stalled every decision on
      // this event loop for about two seconds (the resolver reads them every resolveIntervalMs).
      for await (const page of this.holdPages(this.now() - olderThanMs)) {
        if (page.length === 0) continue;
        const pipeline = this.client.pipeline();
        for (const hold of page) pipeline.hget(dataKey(hold.scope), `vol:${hold.volume}:${hold.kind === 'resize' ? 'resize_to' : 'capacity'}`);
        const sizes = await execPipeline(pipeline);
        page.forEach((hold, i) => holds.push({ ...hold, sizeKiB: Number(sizes[i]) }));
      }
      return holds;
    });
  }

  async *holds(olderThanMs: number): AsyncGenerator<Hold> {
    assertAgeMs(olderThanMs);
    const pages = this.holdPages(this.now() - olderThanMs);
    for (;;) {
      const page = await this.available(() => pages.next());
      if (page.done) return;
      yield* page.value;
    }
  }

  async holdSummary(): Promise<HoldSummary> {
    return this.available(async () => {
      const counts = { reservation: 0, deletion: 0, resize: 0 };
      let oldestSince: number | undefined;
      for await (const page of this.holdPages(Infinity)) {
        for (const hold of page) counts[hold.kind] += 1;
        oldestSince ??= page[0]?.since;
      }
      return { counts, oldestSince };
    });
  }

  /**
   * The pending set up to `maxSince`, oldest first, HOLDS_PER_PAGE holds to a reply. One reply of
   * 10^5 holds held the event loop for 130–200 ms while ioredis decoded it (bench/reconcile-stall.ts,
   * profiled), in every reconciliation pass, resolver run and /metrics scrape. Pages follow the
   * score, not an offset, so a hold settled meanwhile never shifts another out of the walk; the holds
   * of the millisecond a page ends in are asked again with the next page and skipped.
   */
  private async *holdPages(maxSince: number): AsyncGenerator<Hold[]> {
    const max = maxSince === Infinity ? '+inf' : maxSince;
    let from: number | '-inf' = '-inf';
    /** The members at score `from` already walked. */
    let seenAtFrom = new Set<string>();
    for (;;) {
      const asked = HOLDS_PER_PAGE + seenAtFrom.size;
      const flat: string[] = await this.client.zrangebyscore(PENDING_KEY, from, max, 'WITHSCORES', 'LIMIT', 0, asked);
      const page: Hold[] = [];
      let last: number | '-inf' = from;
      for (let i = 0; i < flat.length; i += 2) {
        const member = flat[i]!;
        const since: number = Number(flat[i + 1]);
        if (since === from && seenAtFrom.has(member)) continue;
        if (since !== last) seenAtFrom = new Set();
        seenAtFrom.add(member);
        last = since;
        const hold = parseHoldMember(member);
        if (hold) page.push({ kind: hold.kind, id: encodeReservationId(hold), scope: hold.scope, volume: hold.volume, since });
      }
      yield page;
      if (flat.length < 2 * asked) return;
      from = last;
    }
  }

  async claimReconcile(systemType: SystemType, systemID: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.available(async () => (await this.client.set(`${RECONCILE_LEASE_KEY}:${systemType}:${systemID}`, holder, 'PX', ttlMs, 'NX')) === 'OK');
  }

  async saveDrift(report: DriftReport): Promise<void> {
    await this.available(() => this.client.hset(DRIFT_KEY, `${report.systemType}:${report.systemID}`, JSON.stringify(report)));
  }

  async driftReports(): Promise<DriftReport[]> {
    return this.available(async () => (await this.client.hvals(DRIFT_KEY)).map((json) => JSON.parse(json) as DriftReport));
  }

  async close(): Promise<void> {
    this.replicas.stop();
    this.client.disconnect();
  }

  /** The scopes that ever had a reservation (of `tenant`, if given). */
  private async scopesOf(tenant: string | undefined): Promise<QuotaScope[]> {
    return (await this.client.smembers(SCOPES_KEY))
      .map(parseScopeMember)
      .filter((scope) => tenant === undefined || scope.tenant === tenant);
  }

  private writeById(name: ScriptName, ref: ReservationRef): Promise<unknown> {
    return this.write(name, ref.scope, ref.volume, [String(ref.generation)]);
  }

  /** release / abortDelete / abortResize: the id, then the resolver's `since` or '' (UndoOptions). */
  private undo(name: ScriptName, ref: ReservationRef, options: UndoOptions): Promise<unknown> {
    return this.write(name, ref.scope, ref.volume, [String(ref.generation), options.since === undefined ? '' : String(options.since)]);
  }

  /** Runs a write script, then (same round trip) WAITs for the replicas it must reach, if any. */
  private write(name: ScriptName, scope: QuotaScope, volume: string, args: string[]): Promise<unknown> {
    return this.available(async () => {
      const required = await this.replicas.required();
      if (required === 0) return this.callScript(this.client, name, scope, volume, args);
      const pipeline = this.client.pipeline();
      this.callScript(pipeline, name, scope, volume, args);
      pipeline.wait(required, this.replicaAckTimeoutMs);
      const [reply, acks] = await execPipeline(pipeline);
      if ((acks as number) < required) {
        throw new Error(`write reached ${String(acks)} of ${required} replicas within ${this.replicaAckTimeoutMs} ms`);
      }
      return reply;
    });
  }

  private callScript(target: Redis | ChainableCommander, name: ScriptName, scope: QuotaScope, volume: string, args: string[]): unknown {
    const call = (target as unknown as Record<ScriptName, ScriptCall>)[name].bind(target);
    const { systemType, systemID, pool, tenant } = scope;
    return call(dataKey(scope), streamKey(scope), PENDING_KEY, SCOPES_KEY, systemType, systemID, pool, tenant, volume, ...args);
  }

  /** Any failure of the store itself (down, slow, not replicated, script error) is a fail-closed 503. */
  private async available<T>(operation: () => Promise<T>): Promise<T> {
    try {
      const result = await operation();
      this.masterWatch?.succeeded();
      return result;
    } catch (error) {
      this.masterWatch?.failed(error);
      throw new LedgerUnavailableError(undefined, { cause: error });
    }
  }
}

function createClient(options: RedisLedgerOptions, commandTimeoutMs: number): Redis {
  const password = options.passwordFile ? readFileSync(options.passwordFile, 'utf8').replace(/[\r\n]+$/, '') : options.password;
  const common: RedisOptions = {
    ...(password !== undefined ? { password } : {}),
    ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
    commandTimeout: commandTimeoutMs,
    connectTimeout: commandTimeoutMs,
    // Fail fast instead of queueing: a decision waiting for Redis to come back is worse than a 503
    // the CSI driver retries, and a command queued while offline could apply long after its answer.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: reconnectDelay,
    lazyConnect: true,
  };
  const client = options.sentinels ? sentinelClient(options.sentinels, options.name, common) : options.url ? new Redis(options.url, common) : new Redis({ ...common, host: options.host ?? '127.0.0.1', port: options.port ?? 6379 });
  coalesceWritesPerTurn(client);
  return client;
}

function sentinelClient(sentinels: NonNullable<RedisLedgerOptions['sentinels']>, name: string | undefined, common: RedisOptions): Redis {
  return new Redis({
    ...common,
    sentinels,
    name: name ?? 'mymaster',
    sentinelRetryStrategy: reconnectDelay,
    // A dead master drops the connection; a demoted one (manual failover, healed partition) answers
    // writes with READONLY: reconnect through the sentinels to the new master, and let this call
    // fail (503) rather than resend it. (ioredis' failoverDetector would also reconnect a client
    // that already found the new master, failing calls a second time.)
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  });
}

async function waitUntilReady(client: Redis, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LedgerUnavailableError(`quota store unavailable: not reachable within ${timeoutMs} ms`)), timeoutMs);
  });
  // With lazyConnect, connect() rejects on a failed first attempt while retryStrategy keeps trying;
  // 'ready' is the signal that counts.
  const ready = new Promise<void>((resolve) => client.once('ready', () => resolve()));
  client.connect().catch(() => undefined);
  try {
    await Promise.race([ready, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A member of the pending set (scripts.ts pendingMember); undefined for a marker this version does not know. */
function parseHoldMember(member: string): ReservationRef | undefined {
  const [systemType, systemID, pool, tenant, volume, generation, marker] = JSON.parse(member) as string[];
  const kind = HOLD_MARKERS[marker ?? ''];
  if (!kind) return undefined;
  return { kind, scope: { systemType, systemID, pool, tenant } as QuotaScope, volume: volume!, generation: Number(generation) };
}

async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

const [APPROVED, DELETED, CREATED, DELETING] = [1, 2, 4, 8];
/** The attributes a volume's state depends on, as bits (VolumeFields). */
const STATE_ATTRIBUTES: ReadonlyMap<string, number> = new Map([['approved', APPROVED], ['deleted', DELETED], ['created', CREATED], ['deleting', DELETING]]);

/**
 * The volumes in one scope's data hash, by the scripts' rule: `approved` makes a volume, `deleted`
 * (kept by Dell v1) makes it absent, `created` makes it committed, and `deleting` marks a delete in
 * flight. A v1 record with `approved` but no `created` (a create Dell leaked) is reserved. Gathered
 * field by field from HSCAN pages.
 */
class VolumeFields {
  /**
   * Per volume name, the attributes seen that decide its state (STATE_ATTRIBUTES' bits) and its
   * capacity: bits, not a Set per volume, so gathering a scope of 10^5 volumes allocates little.
   */
  private readonly byName = new Map<string, { seen: number; capacity?: string }>();

  /** One field of the hash (HSCAN may repeat a field; a repeat changes nothing). */
  add(field: string, value: string): void {
    // vol:<name>:<attribute>; a name may itself contain ':', an attribute never does.
    const split = field.lastIndexOf(':');
    if (!field.startsWith('vol:') || split <= 4) return;
    const name = field.slice(4, split);
    let volume = this.byName.get(name);
    if (!volume) this.byName.set(name, (volume = { seen: 0 }));
    const attribute = field.slice(split + 1);
    volume.seen |= STATE_ATTRIBUTES.get(attribute) ?? 0;
    if (attribute === 'capacity') volume.capacity = value;
  }

  /** The rows, ROWS_PER_TURN at a time before the event loop gets a turn. */
  async rows(scope: QuotaScope): Promise<VolumeRow[]> {
    const rows: VolumeRow[] = [];
    let built = 0;
    for (const [name, { seen, capacity }] of this.byName) {
      if (++built % ROWS_PER_TURN === 0) await turn();
      // No capacity: reserved or removed while the scan ran (HSCAN may or may not see a field changed meanwhile).
      if (!(seen & APPROVED) || seen & DELETED || capacity === undefined) continue;
      const state = seen & DELETING ? 'deleting' : seen & CREATED ? 'committed' : 'reserved';
      // Spelled out, not `...scope`: one object shape, built 10^5 times for a large scope.
      rows.push({ systemType: scope.systemType, systemID: scope.systemID, pool: scope.pool, tenant: scope.tenant, volume: name, sizeKiB: Number(capacity), state });
    }
    return rows;
  }
}


function parseScopeMember(member: string): QuotaScope {
  const [systemType, systemID, pool, tenant] = member.split(':');
  return { systemType, systemID, pool, tenant } as QuotaScope;
}
