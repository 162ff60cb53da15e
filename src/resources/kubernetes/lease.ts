// Leader election on a coordination.k8s.io/v1 Lease, so that of several replicas exactly one writes
// status (and runs reconciliation). @kubernetes/client-node 1.x has no leader election; this is the
// client-go algorithm reduced to what we need: take the Lease when it is free or its holder stopped
// renewing, renew it every `leaseDurationSeconds / 3`, and write with the Lease's resourceVersion so
// two candidates cannot both win a race (the loser gets 409). Expiry is judged by when *this*
// process last saw the Lease change, not by the holder's clock, as client-go does.
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../telemetry/log.js';
import { describeApiError, statusOf } from './client.js';

export interface LeaseOptions {
  namespace: string;
  name: string;
  /** This replica's identity (Pod name), written as holderIdentity. */
  identity: string;
  leaseDurationSeconds?: number;
  logger: Logger;
  /** Leadership gained (true) or lost (false). */
  onChange: (leader: boolean) => void;
}

export class LeaseElector {
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** resourceVersion of the Lease when we last saw it change, and when (ms). */
  private observed: { resourceVersion: string; at: number } | undefined;
  private lastRenewed = 0;
  private readonly durationMs: number;
  private tick: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: CoordinationV1Api,
    private readonly options: LeaseOptions,
  ) {
    this.durationMs = (options.leaseDurationSeconds ?? 15) * 1000;
  }

  isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.tick = this.attempt().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.durationMs / 3);
      });
    };
    loop();
  }

  /** Stops renewing; a leader hands the Lease back so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.tick;
    if (!this.leader) return;
    this.setLeader(false);
    try {
      const lease = await this.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
      if (lease.spec?.holderIdentity === this.options.identity) {
        lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 };
        await this.api.replaceNamespacedLease({ name: this.options.name, namespace: this.options.namespace, body: lease });
      }
    } catch (error) {
      this.options.logger.warn({ lease: this.options.name, err: describeApiError(error).message }, 'could not release the Lease; another replica takes over when it expires');
    }
  }

  private async attempt(): Promise<void> {
    const { namespace, name, identity, logger } = this.options;
    const now = Date.now();
    try {
      let lease: V1Lease;
      try {
        lease = await this.api.readNamespacedLease({ name, namespace });
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
        await this.api.createNamespacedLease({ namespace, body: this.leaseFor(undefined, now) });
        this.renewed(now);
        return;
      }
      const version = lease.metadata?.resourceVersion ?? '';
      if (this.observed?.resourceVersion !== version) this.observed = { resourceVersion: version, at: now };
      const holder = lease.spec?.holderIdentity ?? '';
      const expired = holder === '' || now - this.observed.at > (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
      if (holder !== identity && !expired) {
        this.setLeader(false);
        return;
      }
      const replaced = await this.api.replaceNamespacedLease({ name, namespace, body: this.leaseFor(lease, now) });
      this.observed = { resourceVersion: replaced.metadata?.resourceVersion ?? '', at: now };
      this.renewed(now);
    } catch (error) {
      // 409: another replica wrote the Lease first. Anything else: we could not renew; a leader that
      // has not renewed for a whole lease duration must assume someone else took over.
      if (statusOf(error) !== 409) logger.warn({ lease: name, err: describeApiError(error).message }, 'Lease renewal failed');
      if (statusOf(error) === 409 || now - this.lastRenewed > this.durationMs) this.setLeader(false);
    }
  }

  private leaseFor(existing: V1Lease | undefined, now: number): V1Lease {
    // MicroTime: the API server wants six fractional digits, which a plain Date does not print.
    const time = new V1MicroTime(now);
    const mine = existing?.spec?.holderIdentity === this.options.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...existing?.metadata, name: this.options.name, namespace: this.options.namespace },
      spec: {
        holderIdentity: this.options.identity,
        leaseDurationSeconds: this.durationMs / 1000,
        acquireTime: mine ? existing?.spec?.acquireTime : time,
        renewTime: time,
        leaseTransitions: (existing?.spec?.leaseTransitions ?? 0) + (existing && !mine ? 1 : 0),
      },
    };
  }

  private renewed(now: number): void {
    this.lastRenewed = now;
    this.setLeader(true);
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.options.logger.info({ lease: this.options.name, identity: this.options.identity }, leader ? 'became the Lease holder: this replica writes status' : 'no longer the Lease holder');
    this.options.onChange(leader);
  }
}
