// The recent-decisions store on the ledger's Redis: one stream, `storage-authz:decisions`, capped
// with MAXLEN ~ (Redis trims whole macro nodes, so a few more may stay), each entry one JSON record.
// Stream ids are millisecond timestamps, so `--since` is a range read; an id lookup scans newest first.
import type { Redis } from 'ioredis';
import { matches, type DecisionQuery, type DecisionRecord, type RecentDecisions } from '../../telemetry/audit.js';

export const DECISIONS_KEY = 'storage-authz:decisions';
const DEFAULT_MAX_LENGTH = 100_000;
const PAGE = 500;

export class RedisRecentDecisions implements RecentDecisions {
  constructor(
    private readonly client: Redis,
    private readonly maxLength = DEFAULT_MAX_LENGTH,
  ) {}

  async add(record: DecisionRecord): Promise<void> {
    await this.client.xadd(DECISIONS_KEY, 'MAXLEN', '~', String(this.maxLength), '*', 'record', JSON.stringify(record));
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
