// Starting bench processes pinned to CPUs (`taskset -c`, which execs, so the pid we hold is the
// server's own and /proc measures it), with an IPC channel for Node children.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { start, type Started } from '../../src/harness/process.js';
import { repoRoot } from '../../src/harness/tools.js';
import { ipcClient, whenReady } from './ipc.js';

export interface PinnedProcess extends Started {
  pid: number;
}

export interface NodeProcess extends PinnedProcess {
  /** Where the child said it listens (a port or an address), if it serves something. */
  port?: number;
  address?: string;
  request<R>(body: unknown, timeoutMs?: number): Promise<R>;
}

/** `command args…` on the given CPU list (e.g. "1"); unpinned when `cpus` is undefined. */
export function startPinned(cpus: string | undefined, command: string, args: string[], env: NodeJS.ProcessEnv = {}): PinnedProcess {
  const [file, argv] = cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
  const started = start(file, argv, { cwd: repoRoot, env: { ...process.env, ...env } });
  if (started.child.pid === undefined) throw new Error(`could not start ${command}`);
  return { ...started, pid: started.child.pid };
}

export interface NodeProcessOptions {
  cpus?: string;
  /** Extra node flags, e.g. --expose-gc, --cpu-prof. */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Runs a TypeScript entry under `bench/` (through tsx) as a child with IPC; resolves once it is ready. */
export async function startNodeProcess(entry: string, args: string[], options: NodeProcessOptions = {}): Promise<NodeProcess> {
  const nodeArgv = [...(options.nodeArgs ?? []), '--import', 'tsx', path.join(repoRoot, entry), ...args];
  const [file, argv] = options.cpus === undefined ? [process.execPath, nodeArgv] : ['taskset', ['-c', options.cpus, process.execPath, ...nodeArgv]];
  const started = start(file, argv, {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'silent', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const pid = started.child.pid;
  if (pid === undefined) throw new Error(`could not start ${entry}`);
  try {
    const ready = await whenReady(started.child);
    return {
      ...started,
      pid,
      ...(ready.port !== undefined && { port: ready.port }),
      ...(ready.address !== undefined && { address: ready.address }),
      request: ipcClient(started.child),
    };
  } catch (error) {
    await started.stop();
    throw new Error(`${entry} did not start: ${(error as Error).message}\n${started.output().slice(-3000)}`, { cause: error });
  }
}

/** Moves an already running process (and its threads) to `cpus`: for processes other helpers start. */
export function pin(pid: number, cpus: string | undefined): void {
  if (cpus === undefined) return;
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}
