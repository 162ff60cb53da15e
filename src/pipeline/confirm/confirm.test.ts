import { expect } from 'chai';
import type { ArrayAdapter } from '../../arrays/types.js';
import { MemoryLedger } from '../../ledger/memory/memoryLedger.js';
import type { QuotaScope } from '../../ledger/types.js';
import type { ResourceSource, StorageSystem } from '../../resources/types.js';
import type { AccessLogRecord } from '../../check/server.js';
import { confirmFromAccessLog, resolvePending, type ArraySessions } from './confirm.js';
import { outcomeOf, type FindVolume } from './settle.js';

const scope: QuotaScope = { systemType: 'powerflex', systemID: 'sys1', pool: 'bronze', tenant: 'a' };
const quota = { kind: 'limited', kib: 100 } as const;
const system: StorageSystem = { name: 'pf', type: 'powerflex', systemID: 'sys1', endpoint: 'https://a', skipCertificateValidation: false, credentials: { kind: 'secret', name: 's' } };

const resources = {
  current: () => ({ generation: 1, tenants: new Map(), roles: new Map(), storage: new Map([['powerflex/sys1', system]]) }),
  credentials: async () => ({ username: 'u', password: 'p' }),
} as unknown as ResourceSource;

async function usage(ledger: MemoryLedger) {
  const [row] = await ledger.usage('a');
  return { used: row?.usedKiB ?? 0, reserved: row?.reservedKiB ?? 0 };
}

async function reserve(ledger: MemoryLedger, volume: string, size = 10): Promise<string> {
  const result = await ledger.reserve(scope, volume, size, quota);
  if (result.status !== 'approved') throw new Error(`unexpected ${result.status}`);
  return result.reservation;
}

async function deletionOf(ledger: MemoryLedger, volume: string): Promise<string> {
  const result = await ledger.beginDelete(scope, volume);
  if (result.status !== 'ok') throw new Error(`unexpected ${result.status}`);
  return result.deletion;
}

/** The access-log callback with an array answering through `find` (the settlement under test). */
function confirmWith(ledger: MemoryLedger, find: FindVolume): (record: AccessLogRecord) => Promise<void> {
  const adapter = { findVolume: (_s: StorageSystem, _c: unknown, name: string) => find(scope, name) } as unknown as ArrayAdapter;
  return confirmFromAccessLog(ledger, { resources, adapters: new Map([['powerflex', adapter]]) });
}

/** A fake array: the volumes it has, by name. */
function arrayWith(volumes: Record<string, number> = {}): { find: FindVolume; volumes: Record<string, number> } {
  return {
    volumes,
    find: async (at, name) => (name in volumes ? { id: `id-${name}`, name, sizeKiB: volumes[name]!, poolId: 'p', poolName: at.pool } : undefined),
  };
}

const entry = (metadata: Record<string, string>, responseCode: number | undefined, envoyFlags: string[] = []): AccessLogRecord => ({ requestId: 'r', metadata, responseCode, envoyFlags });

describe('access-log outcomes', () => {
  it("reads 2xx as succeeded, the array's own other statuses as refused, and Envoy's own answers as unknown", () => {
    expect([outcomeOf(200, []), outcomeOf(201, []), outcomeOf(500, []), outcomeOf(404, [])]).to.deep.equal(['succeeded', 'succeeded', 'refused', 'refused']);
    expect([outcomeOf(504, []), outcomeOf(503, ['upstream_connection_failure']), outcomeOf(503, ['upstream_remote_reset']), outcomeOf(undefined, []), outcomeOf(0, [])]).to.deep.equal([
      'unknown', 'unknown', 'unknown', 'unknown', 'unknown',
    ]);
  });

  it("reads Envoy's circuit-breaker overflow as refused: the request was never sent to the array", () => {
    expect([outcomeOf(503, ['upstream_overflow']), outcomeOf(503, ['upstream_overflow', 'upstream_remote_reset'])]).to.deep.equal(['refused', 'unknown']);
  });
});

describe('settlement from the access log', () => {
  let ledger: MemoryLedger;
  let array: ReturnType<typeof arrayWith>;
  let confirm: (record: AccessLogRecord) => Promise<void>;
  beforeEach(() => {
    ledger = new MemoryLedger();
    array = arrayWith();
    confirm = confirmWith(ledger, array.find);
  });

  it('commits every hold of a 2xx entry', async () => {
    const [first, second] = [await reserve(ledger, 'v1'), await reserve(ledger, 'v2')];
    await confirm(entry({ holds: `${first},${second}` }, 200));
    expect(await usage(ledger)).to.deep.equal({ used: 20, reserved: 0 });
  });

  it("releases a create the array refused only after the array says it has no such volume, and commits it when it has", async () => {
    const refused = await reserve(ledger, 'v1');
    const inUse = await reserve(ledger, 'v2');
    array.volumes.v2 = 10;
    await confirm(entry({ holds: refused }, 500));
    await confirm(entry({ holds: inUse }, 500));
    expect(await ledger.volumes('a')).to.deep.equal([{ ...scope, volume: 'v2', sizeKiB: 10, state: 'committed' }]);
  });

  for (const [what, code, flags] of [
    ["Envoy's 504", 504, ['upstream_request_timeout']],
    ['an upstream reset', 503, ['upstream_remote_reset']],
    ['no status at all', undefined, []],
  ] as const) {
    it(`leaves a create ${what} answered to the resolver, whatever the array did`, async () => {
      array.volumes.v1 = 10;
      await confirm(entry({ holds: await reserve(ledger, 'v1') }, code, [...flags]));
      await confirm(entry({ holds: await reserve(ledger, 'v2') }, code, [...flags]));
      expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 20 });
    });
  }

  it('two creates of one name, the owner refused "name in use" before the duplicate\'s 2xx arrives: charged once, owned', async () => {
    const owner = await ledger.reserve(scope, 'v1', 10, quota);
    const duplicate = await ledger.reserve(scope, 'v1', 10, quota);
    expect([owner.status, duplicate.status]).to.deep.equal(['approved', 'already-approved']);
    array.volumes.v1 = 10;
    await confirm(entry({ holds: (owner as { reservation: string }).reservation }, 500));
    await confirm(entry({ hints: (duplicate as { reservation: string }).reservation }, 200));
    expect(await usage(ledger)).to.deep.equal({ used: 10, reserved: 0 });
    expect((await ledger.usage('a'))[0]!.volumes).to.equal(1);
    expect(await ledger.owns(scope, 'v1')).to.equal(true);
  });

  it("a duplicate's failure never settles the owner's hold; the owner's 2xx commits it", async () => {
    const owner = (await ledger.reserve(scope, 'v1', 10, quota)) as { reservation: string };
    const duplicate = (await ledger.reserve(scope, 'v1', 10, quota)) as { reservation: string };
    await confirm(entry({ hints: duplicate.reservation }, 500));
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 10 });
    await confirm(entry({ holds: owner.reservation }, 200));
    expect(await usage(ledger)).to.deep.equal({ used: 10, reserved: 0 });
  });

  it("an owner's refusal settled after the duplicate's 2xx and a delete never charges the deleted volume again", async () => {
    const owner = (await ledger.reserve(scope, 'v1', 10, quota)) as { reservation: string };
    const duplicate = (await ledger.reserve(scope, 'v1', 10, quota)) as { reservation: string };
    await confirm(entry({ hints: duplicate.reservation }, 200));
    await ledger.commitDelete(await deletionOf(ledger, 'v1'));
    // The array was asked before the delete reached it: it still answers "exists".
    array.volumes.v1 = 10;
    await confirm(entry({ holds: owner.reservation }, 500));
    expect(await ledger.volumes('a')).to.deep.equal([]);
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 0 });
  });

  it("a create refused while the driver's retry (a hint) is on its way to the array keeps its hold: the retry's volume stays within the quota", async () => {
    const tight = { kind: 'limited', kib: 20 } as const;
    // Attempt 1 is answered 500 by the array (nothing created); the driver retries with the same name
    // before that answer is settled, so the retry only finds the hold and is forwarded with it.
    const owner = (await ledger.reserve(scope, 'v1', 10, tight)) as { status: string; reservation: string };
    const retry = (await ledger.reserve(scope, 'v1', 10, tight)) as { status: string; reservation: string };
    expect([owner.status, retry.status]).to.deep.equal(['approved', 'already-approved']);
    await confirm(entry({ holds: owner.reservation }, 500));
    // Other creates of the tenant meanwhile: the quota has room for one more 10 KiB volume, not two.
    const decisions = [(await ledger.reserve(scope, 'v2', 10, tight)).status, (await ledger.reserve(scope, 'v3', 10, tight)).status];
    array.volumes.v1 = 10;
    await confirm(entry({ hints: retry.reservation }, 200));
    expect(decisions).to.deep.equal(['approved', 'denied']);
    expect(await ledger.volumes('a')).to.have.deep.members([
      { ...scope, volume: 'v1', sizeKiB: 10, state: 'committed' },
      { ...scope, volume: 'v2', sizeKiB: 10, state: 'reserved' },
    ]);
  });

  it('a 2xx arriving after its hold was released charges the volume the array has', async () => {
    const reservation = await reserve(ledger, 'v1');
    await ledger.release(reservation);
    array.volumes.v1 = 16;
    await confirm(entry({ holds: reservation }, 200));
    expect(await ledger.volumes('a')).to.deep.equal([{ ...scope, volume: 'v1', sizeKiB: 16, state: 'committed' }]);
  });

  it("never charges a tenant for a name another tenant holds (\"name in use\" for someone else's volume)", async () => {
    await ledger.commit(await reserve(ledger, 'v1'));
    const other = { ...scope, tenant: 'b' };
    const intruder = (await ledger.reserve(other, 'v1', 10, quota)) as { reservation: string };
    array.volumes.v1 = 10;
    await confirm(entry({ holds: intruder.reservation }, 500));
    expect(await ledger.owns(other, 'v1')).to.equal(false);
    expect(await ledger.usage('b')).to.deep.equal([{ ...other, usedKiB: 0, reservedKiB: 0, volumes: 0 }]);
  });

  it('frees a deleted volume on 2xx; on a refusal asks the array: still there is aborted, gone is freed', async () => {
    for (const name of ['v1', 'v2', 'v3']) await ledger.commit(await reserve(ledger, name));
    array.volumes.v2 = 10;
    await confirm(entry({ holds: await deletionOf(ledger, 'v1') }, 200));
    await confirm(entry({ holds: await deletionOf(ledger, 'v2') }, 500));
    await confirm(entry({ holds: await deletionOf(ledger, 'v3') }, 500));
    expect(await ledger.volumes('a')).to.deep.equal([{ ...scope, volume: 'v2', sizeKiB: 10, state: 'committed' }]);
  });

  it("a second delete in flight is a hint: its 2xx frees the volume once, its failure leaves the owner's delete alone", async () => {
    await ledger.commit(await reserve(ledger, 'v1'));
    const owner = await deletionOf(ledger, 'v1');
    const second = await ledger.beginDelete(scope, 'v1');
    expect(second.status).to.equal('already-deleting');
    await confirm(entry({ hints: (second as { deletion: string }).deletion }, 500));
    expect((await ledger.volumes('a'))[0]!.state).to.equal('deleting');
    await confirm(entry({ hints: (second as { deletion: string }).deletion }, 200));
    await confirm(entry({ holds: owner }, 200));
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 0 });
  });

  it("a delete refused while the driver's retry (a hint) is on its way to the array stays in flight: the retry's 2xx frees the volume", async () => {
    await ledger.commit(await reserve(ledger, 'v1'));
    // Attempt 1 is refused while the volume is still mapped; the driver unmaps and retries before
    // that answer is settled, so the retry only finds the deletion and is forwarded with it.
    const owner = await deletionOf(ledger, 'v1');
    const retry = await ledger.beginDelete(scope, 'v1');
    expect(retry.status).to.equal('already-deleting');
    array.volumes.v1 = 10;
    await confirm(entry({ holds: owner }, 500));
    expect((await ledger.volumes('a'))[0]!.state).to.equal('deleting');
    delete array.volumes.v1;
    await confirm(entry({ hints: (retry as { deletion: string }).deletion }, 200));
    expect(await ledger.volumes('a')).to.deep.equal([]);
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 0 });
  });

  it("an expansion refused while the driver's retry (a hint) is on its way keeps its increase held: the grown volume stays within the quota", async () => {
    const tight = { kind: 'limited', kib: 40 } as const;
    await ledger.commit(await reserve(ledger, 'v1'));
    const owner = (await ledger.beginResize(scope, 'v1', 30, tight)) as { status: string; resize: string };
    const retry = (await ledger.beginResize(scope, 'v1', 30, tight)) as { status: string; resize: string };
    expect([owner.status, retry.status]).to.deep.equal(['approved', 'already-resizing']);
    array.volumes.v1 = 10;
    await confirm(entry({ holds: owner.resize }, 500));
    // Another create of the tenant meanwhile: the quota has room for the increase or for it, not both.
    const other = (await ledger.reserve(scope, 'v2', 20, tight)).status;
    array.volumes.v1 = 30;
    await confirm(entry({ hints: retry.resize }, 200));
    expect(other).to.equal('denied');
    expect(await ledger.volumes('a')).to.deep.equal([{ ...scope, volume: 'v1', sizeKiB: 30, state: 'committed' }]);
  });

  it('an expansion is charged its new size on 2xx; refused, the size the array reports is charged', async () => {
    await ledger.commit(await reserve(ledger, 'v1'));
    await ledger.commit(await reserve(ledger, 'v2'));
    const grown = await ledger.beginResize(scope, 'v1', 30, quota);
    const refused = await ledger.beginResize(scope, 'v2', 30, quota);
    expect(await usage(ledger)).to.deep.equal({ used: 20, reserved: 40 });
    array.volumes.v2 = 10;
    await confirm(entry({ holds: (grown as { resize: string }).resize }, 200));
    await confirm(entry({ holds: (refused as { resize: string }).resize }, 500));
    expect(await usage(ledger)).to.deep.equal({ used: 40, reserved: 0 });
  });
});

describe('settlement order', () => {
  it('settles entries about different volumes side by side, and those about one volume in the order they arrived', async () => {
    const ledger = new MemoryLedger();
    const asked: string[] = [];
    let answerFirst: () => void = () => undefined;
    const firstAnswered = new Promise<void>((resolve) => (answerFirst = resolve));
    const confirm = confirmWith(ledger, async (_at, name) => {
      asked.push(name);
      if (asked.length === 1) await firstAnswered;
      return undefined;
    });
    const [v1, v2] = [await reserve(ledger, 'v1'), await reserve(ledger, 'v2')];
    // A refused create of v1 whose array lookup hangs, a retry's 2xx naming the same hold (a hint),
    // and a refused create of v2.
    const first = confirm(entry({ holds: v1 }, 500));
    const second = confirm(entry({ hints: v1 }, 200));
    await confirm(entry({ holds: v2 }, 500));
    expect(asked).to.deep.equal(['v1', 'v2'], 'v2 did not wait for v1; the second v1 entry did');
    expect(await ledger.volumes('a')).to.deep.equal([{ ...scope, volume: 'v1', sizeKiB: 10, state: 'reserved' }]);
    answerFirst();
    await Promise.all([first, second]);
    // The refusal released v1 first; the later 2xx found nothing reserved and asked the array again.
    expect(asked).to.deep.equal(['v1', 'v2', 'v1']);
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 0 });
  });

  it('a settlement that fails does not hold up the next entry about the same volume', async () => {
    const ledger = new MemoryLedger();
    let calls = 0;
    const confirm = confirmWith(ledger, async () => {
      calls += 1;
      if (calls === 1) throw new Error('array unreachable');
      return undefined;
    });
    const held = await reserve(ledger, 'v1');
    await Promise.all([confirm(entry({ holds: held }, 500)), confirm(entry({ holds: held }, 500))]);
    expect(calls).to.equal(2);
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 0 });
  });
});

describe('access-log report of a session the array refused', () => {
  function refusing(rejected: [StorageSystem, string][], adapter: Partial<ArrayAdapter> = {}): ArraySessions {
    const array = { credentialsRejected: (refusedBy: StorageSystem, tag: string) => (rejected.push([refusedBy, tag]), true), ...adapter } as unknown as ArrayAdapter;
    return { resources, adapters: new Map([['powerflex', array]]) };
  }

  it("tells the system's adapter which session the array answered 401 to", async () => {
    const rejected: [StorageSystem, string][] = [];
    const confirm = confirmFromAccessLog(new MemoryLedger(), refusing(rejected));
    await confirm({ requestId: 'r1', metadata: { system: 'powerflex/sys1', 'session-tag': '0123456789abcdef' }, responseCode: 401, envoyFlags: [] });
    expect(rejected).to.deep.equal([[system, '0123456789abcdef']]);
  });

  it('ignores other statuses, entries without a session tag, and systems no longer configured', async () => {
    const rejected: [StorageSystem, string][] = [];
    const confirm = confirmFromAccessLog(new MemoryLedger(), refusing(rejected));
    await confirm({ requestId: 'r1', metadata: { system: 'powerflex/sys1', 'session-tag': 'aa' }, responseCode: 403, envoyFlags: [] });
    await confirm({ requestId: 'r2', metadata: { system: 'powerflex/sys1' }, responseCode: 401, envoyFlags: [] });
    await confirm({ requestId: 'r3', metadata: { system: 'powerflex/gone', 'session-tag': 'aa' }, responseCode: 401, envoyFlags: [] });
    expect(rejected).to.deep.equal([]);
  });

  it('still releases the reservation of a refused create, even when the adapter fails', async () => {
    const ledger = new MemoryLedger();
    const confirm = confirmFromAccessLog(ledger, refusing([], { credentialsRejected: () => { throw new Error('adapter bug'); }, findVolume: async () => undefined }));
    await confirm({ requestId: 'r1', metadata: { system: 'powerflex/sys1', 'session-tag': 'aa', holds: await reserve(ledger, 'v1') }, responseCode: 401, envoyFlags: [] });
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 0 });
  });
});

describe('resolvePending', () => {
  let now: number;
  let ledger: MemoryLedger;
  const resolve = (find: FindVolume) => resolvePending({ ledger, find, olderThanMs: 60_000, intervalMs: 1000 });
  beforeEach(() => {
    now = 1_000_000;
    ledger = new MemoryLedger({ now: () => now });
  });

  it('asks the array only about holds older than the threshold: a young "not found" is not final', async () => {
    await reserve(ledger, 'slow');
    now += 59_000;
    await resolve(arrayWith().find);
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 10 });
  });

  it('commits a stale reservation whose volume exists on the array and releases one whose volume does not', async () => {
    await reserve(ledger, 'exists');
    await reserve(ledger, 'missing');
    now += 120_000;
    await resolve(arrayWith({ exists: 10 }).find);
    expect(await usage(ledger)).to.deep.equal({ used: 10, reserved: 0 });
    expect(await ledger.pending(0)).to.deep.equal([]);
  });

  it('frees a stale deletion whose volume is gone, once; aborts one whose volume is still there', async () => {
    for (const name of ['gone', 'kept']) await ledger.commit(await reserve(ledger, name));
    await deletionOf(ledger, 'gone');
    await deletionOf(ledger, 'kept');
    now += 120_000;
    await resolve(arrayWith({ kept: 10 }).find);
    await resolve(arrayWith({ kept: 10 }).find);
    expect(await ledger.volumes('a')).to.deep.equal([{ ...scope, volume: 'kept', sizeKiB: 10, state: 'committed' }]);
    expect(await usage(ledger)).to.deep.equal({ used: 10, reserved: 0 });
  });

  it("keeps a hold the driver's retry found while the resolver was asking the array, until that retry is over too", async () => {
    await reserve(ledger, 'v1');
    now += 120_000;
    const retries: string[] = [];
    // The array has no v1 yet; the retry, forwarded meanwhile, may still create it.
    await resolve(async (_at, name) => {
      retries.push((await ledger.reserve(scope, name, 10, quota)).status);
      return undefined;
    });
    expect(retries).to.deep.equal(['already-approved']);
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 10 });
    now += 59_000;
    await resolve(arrayWith().find);
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 10 });
    now += 2_000;
    await resolve(arrayWith().find);
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 0 });
  });

  it('keeps a hold when the array cannot be asked', async () => {
    await reserve(ledger, 'v1');
    now += 120_000;
    await resolve(async () => {
      throw new Error('array unreachable');
    });
    expect(await usage(ledger)).to.deep.equal({ used: 0, reserved: 10 });
  });
});
