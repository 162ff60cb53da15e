// Sentinel mode: a master that is frozen (SIGSTOP, a stalled VM) rather than dead keeps its TCP
// connection open, so ioredis never reconnects and every command times out until the old master
// wakes up — long after the sentinels promoted a replica. After repeated command timeouts this asks
// the sentinels for the current master, and reconnects (through the sentinels) when it is another
// one. A merely slow master that is still the master is left alone: no needless reconnect blip.
import { Redis } from 'ioredis';
import type { Logger } from '../../telemetry/log.js';

/** Consecutive command timeouts before the sentinels are asked. */
const TIMEOUTS_BEFORE_ASKING = 2;

export class MasterWatch {
  private consecutiveTimeouts = 0;
  private asking: Promise<void> | undefined;

  constructor(
    private readonly client: Redis,
    private readonly sentinels: readonly { host: string; port: number }[],
    private readonly name: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  succeeded(): void {
    this.consecutiveTimeouts = 0;
  }

  /** A command failed; `error` is ioredis' own. */
  failed(error: unknown): void {
    if (!(error instanceof Error) || !/Command timed out/.test(error.message)) return;
    if (++this.consecutiveTimeouts < TIMEOUTS_BEFORE_ASKING) return;
    this.asking ??= this.recheck().finally(() => (this.asking = undefined));
  }

  private async recheck(): Promise<void> {
    const master = await this.currentMaster();
    const connected = this.client.stream?.remotePort;
    if (!master || master.port === connected) return;
    this.logger.warn({ connectedPort: connected, masterPort: master.port }, 'quota store master changed while the old one hangs; reconnecting through the sentinels');
    this.consecutiveTimeouts = 0;
    this.client.disconnect(true);
  }

  /** The master the first answering sentinel names. */
  private async currentMaster(): Promise<{ host: string; port: number } | undefined> {
    for (const sentinel of this.sentinels) {
      const client = new Redis({ ...sentinel, lazyConnect: true, connectTimeout: this.timeoutMs, commandTimeout: this.timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const [host, port] = (await client.call('SENTINEL', 'get-master-addr-by-name', this.name)) as [string, string];
        return { host, port: Number(port) };
      } catch {
        // the next sentinel
      } finally {
        client.disconnect();
      }
    }
    return undefined;
  }
}
