import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { start, waitForOutput } from './process.js';

/** Running, not merely a zombie waiting for its new parent to reap it. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2)[0]!);
  } catch {
    return false;
  }
}

describe('harness child processes', () => {
  it('stop() also ends what the process started when it exits without ending it (a sidecar and its Envoy)', async () => {
    // A parent that starts a long-lived child, prints its pid, and exits at SIGTERM leaving it behind.
    const parent = start('sh', ['-c', 'sleep 300 & echo "child $!"; trap "exit 0" TERM; wait']);
    await waitForOutput(parent, /child \d+/);
    const childPid = Number(/child (\d+)/.exec(parent.output())![1]);
    expect(running(childPid)).to.equal(true);
    await parent.stop();
    expect(running(childPid), 'the orphan is gone').to.equal(false);
  });
});
