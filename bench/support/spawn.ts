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
  /** The checkout whose compiled build runs (default this one). */
  root?: string;
}

/**
 * Compiles `root` (default this checkout) with tsc into its `dist/`, as the image does. Measured
 * processes run that JavaScript, not tsx's transform of the TypeScript: tsx's esbuild keeps names by
 * wrapping every function it creates in a `__name` call, which cost our service about 5% of its CPU
 * per decision (380 vs 358 µs a read, 587 vs 567 a create, side by side in one run) that the image
 * never pays.
 */
export function buildCompiled(root: string = repoRoot): void {
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`tsc -p ${root}/tsconfig.json failed; the bench runs the compiled build:\n${String(stdout ?? '')}${String(stderr ?? '')}`, { cause: error });
  }
}

/** Where `npm run build` (buildCompiled) puts the JavaScript of a TypeScript file (relative to `root`). */
export function compiledEntry(entry: string, root: string = repoRoot): string {
  return path.join(root, 'dist', entry.replace(/\.ts$/, '.js'));
}

/**
 * Runs the compiled JavaScript of a TypeScript entry (`bench/…` or `src/…`, of this checkout or of
 * `root`; buildCompiled first) as a child with IPC; resolves once it is ready.
 */
export async function startNodeProcess(entry: string, args: string[], options: NodeProcessOptions = {}): Promise<NodeProcess> {
  const nodeArgv = [...(options.nodeArgs ?? []), compiledEntry(entry, options.root), ...args];
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
      request: ipcClient(started.child, () => started.output()),
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
