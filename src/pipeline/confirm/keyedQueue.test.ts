import { expect } from 'chai';
import { keyedQueue } from './keyedQueue.js';

/** A task that records its start and finishes when released. */
function gated(log: string[], name: string): { task: () => Promise<void>; release(): void; fail(error: Error): void } {
  let release!: () => void;
  let fail!: (error: Error) => void;
  const gate = new Promise<void>((resolve, reject) => ((release = resolve), (fail = reject)));
  return {
    task: async () => {
      log.push(`start ${name}`);
      await gate;
      log.push(`end ${name}`);
    },
    release: () => release(),
    fail: (error) => fail(error),
  };
}

describe('keyedQueue', () => {
  it('runs a task after the earlier ones that share a key, and beside those that do not', async () => {
    const queue = keyedQueue(8);
    const log: string[] = [];
    const [a1, a2, b] = [gated(log, 'a1'), gated(log, 'a2'), gated(log, 'b')];
    const runs = [queue(['a'], a1.task), queue(['a', 'c'], a2.task), queue(['b'], b.task)];
    b.release();
    await runs[2];
    expect(log).to.deep.equal(['start a1', 'start b', 'end b']);
    a1.release();
    a2.release();
    await Promise.all(runs);
    expect(log).to.deep.equal(['start a1', 'start b', 'end b', 'end a1', 'start a2', 'end a2']);
  });

  it("hands a failed task's error to its caller and still runs the next task of that key", async () => {
    const queue = keyedQueue(8);
    const log: string[] = [];
    const [first, second] = [gated(log, 'first'), gated(log, 'second')];
    const failed = queue(['a'], first.task);
    const next = queue(['a'], second.task);
    first.fail(new Error('store down'));
    second.release();
    let reported = '';
    await failed.catch((error: Error) => (reported = error.message));
    await next;
    expect(reported).to.equal('store down');
    expect(log).to.deep.equal(['start first', 'start second', 'end second']);
  });

  it('runs at most `limit` tasks at once; one waiting for its key takes no slot', async () => {
    const queue = keyedQueue(2);
    const log: string[] = [];
    const tasks = ['a1', 'a2', 'b', 'c'].map((name) => gated(log, name));
    const runs = [queue(['a'], tasks[0]!.task), queue(['a'], tasks[1]!.task), queue(['b'], tasks[2]!.task), queue(['c'], tasks[3]!.task)];
    tasks[2]!.release();
    await runs[2];
    // a1 and b held the two slots (a2 waited for a1 without one); c took b's.
    expect(log).to.deep.equal(['start a1', 'start b', 'end b', 'start c']);
    for (const task of tasks) task.release();
    await Promise.all(runs);
    expect(log.filter((line) => line.startsWith('start'))).to.deep.equal(['start a1', 'start b', 'start c', 'start a2']);
  });
});
