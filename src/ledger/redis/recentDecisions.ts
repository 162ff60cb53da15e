// The recent-decisions store on the ledger's Redis: one stream, `storage-authz:decisions`, capped
// with MAXLEN ~ (Redis trims whole macro nodes, so a few more may stay), each entry one JSON record.
// Stream ids are millisecond timestamps, so `--since` is a range read; an id lookup scans newest first.
// Records are appended in batches (see RedisRecentDecisions).
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

interface Pending {
  records: string[];
  written: Promise<void>;
}

/**
 * Decisions are written after the answer and never delay it; one XADD per decision cost a Redis
 * command (and its encoding and socket write) per Check, a tenth of a decision's CPU in the bench
 * profile. So the records of one turn of the event loop are appended together by one script call.
 */
export class RedisRecentDecisions implements RecentDecisions {
  private pending: Pending | undefined;

  constructor(
    private readonly client: Redis,
    private readonly maxLength = DEFAULT_MAX_LENGTH,
  ) {}

  /** Resolves once the record is in the stream (with the rest of its batch); rejects when that write failed. */
  add(record: DecisionRecord): Promise<void> {
    const text = JSON.stringify(record);
    if (this.pending && this.pending.records.length < BATCH) {
      this.pending.records.push(text);
      return this.pending.written;
    }
    const records = [text];
    const written = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      if (this.pending?.records === records) this.pending = undefined;
      await this.client.eval(APPEND_ALL, 1, DECISIONS_KEY, String(this.maxLength), ...records);
    });
    this.pending = { records, written };
    return written;
  }

  async find(query: DecisionQuery): Promise<DecisionRecord[]> {
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
