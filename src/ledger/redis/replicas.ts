// How many replicas a write must reach before the ledger answers (Redis WAIT). Waiting for one
// replica is not enough with several: Sentinel may promote another one that had not caught up yet,
// and an acknowledged volume would be lost. So by default a write waits for every replica that was
// in sync with the master when last looked (refreshed every second and on each reconnect), and for
// at least `minimum` (so a master that has lost all its replicas refuses writes instead of
// accepting ones a failover would drop).
import type { Redis } from 'ioredis';

/** How often the set of in-sync replicas is re-read from the master. */
export const REPLICA_REFRESH_MS = 1000;

/**
 * A replica silent for longer (seconds since its last ack; replicas ack every second) is not waited
 * for: a stuck replica must not block every write until the master drops it (repl-timeout, 60 s).
 */
export const REPLICA_MAX_LAG_S = 2;

/** Counts the replicas `INFO replication` reports online (not still syncing) and acking recently. */
export function onlineReplicas(infoReplication: string): number {
  return infoReplication.split(/\r?\n/).filter((line) => {
    const fields = /^slave\d+:(.*)$/.exec(line)?.[1];
    if (!fields) return false;
    const field = (name: string) => new RegExp(`(?:^|,)${name}=([^,]*)`).exec(fields)?.[1];
    return field('state') === 'online' && Number(field('lag')) <= REPLICA_MAX_LAG_S;
  }).length;
}

export class ReplicaTracker {
  private online = 0;
  /** The refresh started by the latest (re)connect; writes wait for it so they never use a stale count. */
  private afterConnect: Promise<void> = Promise.resolve();
  private readonly timer?: NodeJS.Timeout;

  constructor(
    private readonly client: Redis,
    private readonly minimum: number,
    waitForAll: boolean,
  ) {
    if (!waitForAll) return;
    // After a reconnect (possibly to a new master) nothing is known until the next refresh.
    client.on('close', () => { this.online = 0; });
    client.on('ready', () => { this.afterConnect = this.refresh(); });
    this.timer = setInterval(() => void this.refresh(), REPLICA_REFRESH_MS);
    this.timer.unref();
  }

  /** The replica count to pass to WAIT; 0 means do not wait. */
  async required(): Promise<number> {
    await this.afterConnect;
    return Math.max(this.minimum, this.online);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    try {
      this.online = onlineReplicas(await this.client.info('replication'));
    } catch {
      // Unreachable right now: writes fail on their own; keep the last count until the next refresh.
    }
  }
}
