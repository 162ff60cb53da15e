// The recent-decisions store on the ledger's Redis: one stream, `storage-authz:decisions`, capped
// with MAXLEN ~ (Redis trims whole macro nodes, so a few more may stay), each entry one JSON record.
// Stream ids are millisecond timestamps, so `--since` is a range read; an id lookup scans newest first.
// Records are appended in batches of up to 20 ms (see RedisRecentDecisions).
import type { Redis } from 'ioredis';
import { matches, type DecisionQuery, type DecisionRecord, type RecentDecisions } from '../../telemetry/audit.js';

export const DECISIONS_KEY = 'storage-authz:decisions';
const DEFAULT_MAX_LENGTH = 100_000;
const PAGE = 500;
/** Records sent in one command at most; a longer queue is sent in several. */
const BATCH = 256;

// One round trip appends a whole batch, in order, capped as a single XADD would cap it.
const APPEND_ALL = `
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'record', ARGV[i])
end
return #ARGV - 1`;

/**
 * How long a record waits for others to share its write. At 1,000 decisions/s a script call then
 * carries about 20 records; a why-denied for a decision of this process never waits for it (find
 * sends the batch first), one asked of another replica may miss the last 20 ms.
 */
const WINDOW_MS = 20;

interface Batch {
  records: string[];
  written: Promise<void>;
  /** Sends now (full, or flushed) instead of at the end of the window. */
  send(): void;
}

/**
 * Decisions are written after the answer and never delay it; one XADD per decision cost a Redis
 * command (and its encoding and socket write) per Check, a tenth of a decision's CPU in the bench
 * profile, and with a batch per turn of the event loop ioredis was still about 4% of a read's CPU
 * at 1,500 reads/s. So the records of a 20 ms window are appended together by one script call.
 */
export class RedisRecentDecisions implements RecentDecisions {
  private pending: Batch | undefined;

  constructor(
    private readonly client: Redis,
    private readonly maxLength = DEFAULT_MAX_LENGTH,
  ) {}

  /** Resolves once the record is in the stream (with the rest of its batch); rejects when that write failed. */
  add(record: DecisionRecord): Promise<void> {
    const batch = this.pending ?? this.open();
    batch.records.push(JSON.stringify(record));
    if (batch.records.length >= BATCH) batch.send();
    return batch.written;
  }

  /** Sends the records still waiting for their window, and resolves when they are written (or failed). */
  async flush(): Promise<void> {
    const batch = this.pending;
    if (!batch) return;
    batch.send();
    await batch.written.catch(() => undefined); // the failure is its adders' to report
  }

  private open(): Batch {
    let due!: () => void;
    const sent = new Promise<void>((resolve) => (due = resolve));
    const timer = setTimeout(() => batch.send(), WINDOW_MS);
    timer.unref(); // shutdown flushes; a timer must not keep the process alive
    const batch: Batch = {
      records: [],
      send: () => {
        clearTimeout(timer);
        if (this.pending === batch) this.pending = undefined;
        due();
      },
      written: sent.then(async () => {
        await this.client.eval(APPEND_ALL, 1, DECISIONS_KEY, String(this.maxLength), ...batch.records);
      }),
    };
    this.pending = batch;
    return batch;
  }

  async find(query: DecisionQuery): Promise<DecisionRecord[]> {
    await this.flush();
    const found: DecisionRecord[] = [];
    const oldest = query.since === undefined ? '-' : String(query.since);
    let newest = '+';
    for (;;) {
      const page = await this.client.xrevrange(DECISIONS_KEY, newest, oldest, 'COUNT', PAGE);
      for (const [, fields] of page) {
        const record = JSON.parse(fields[1] ?? '{}') as DecisionRecord;
        if (matches(record, query)) found.push(record);
        if (found.length >= query.limit) return found;
      }
      const last = page.at(-1);
      if (page.length < PAGE || !last) return found;
      newest = `(${last[0]}`;
    }
  }
}
