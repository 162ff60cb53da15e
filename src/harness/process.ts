// Child processes for tests: start, wait until ready (a line on stdout/stderr or a port), stop.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface Started {
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr interleaved). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function start(command: string, args: string[], options: SpawnOptions = {}): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    output: () => output,
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        // What it started (a sidecar's Envoy) must not outlive it, even if it exits without ending them.
        const started = child.pid === undefined ? [] : descendants(child.pid);
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
        for (const leftover of started) await killIfStillRunning(leftover);
      }
    },
  };
}

interface ProcessIdentity {
  pid: number;
  /** /proc/<pid>/stat's start time: a pid reused by another process does not match. */
  startTime: string;
}

/** Every process below `pid`, from /proc (Linux). */
function descendants(pid: number): ProcessIdentity[] {
  const found: ProcessIdentity[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number)) {
        const startTime = startTimeOf(child);
        if (startTime !== undefined) found.push({ pid: child, startTime }, ...descendants(child));
      }
    }
  } catch {
    // Gone already: nothing below it to find.
  }
  return found;
}

/** Start time, or undefined once the process is gone (or a zombie: exited, waiting to be reaped). */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3 overall, start time field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** SIGKILL, if it is still the same process; resolves once it is gone. */
async function killIfStillRunning({ pid, startTime }: ProcessIdentity): Promise<void> {
  if (startTimeOf(pid) !== startTime) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
  // SIGKILL takes effect asynchronously; a few milliseconds normally.
  for (let polls = 0; polls < 500 && startTimeOf(pid) === startTime; polls++) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Waits until the process prints a line matching `pattern`; fails early if it exits first. */
export function waitForOutput(started: Started, pattern: RegExp, timeoutMs = 20000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pattern.test(started.output())) { cleanup(); resolve(); }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`process exited (${code}) before printing ${pattern}:\n${started.output().slice(-4000)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${started.output().slice(-4000)}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      started.child.stdout?.off('data', check);
      started.child.stderr?.off('data', check);
      started.child.off('exit', onExit);
    };
    started.child.stdout?.on('data', check);
    started.child.stderr?.on('data', check);
    started.child.once('exit', onExit);
    check();
  });
}
