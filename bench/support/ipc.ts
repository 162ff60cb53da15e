// The small IPC protocol between the bench runner and the Node processes it starts (servers and the
// load generator): the child announces itself ready, then answers numbered requests.
import type { ChildProcess } from 'node:child_process';

export interface MemoryReport {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Off the JS heap: memory V8 is told about (Buffers, ArrayBuffers, wasm memories). */
  externalBytes: number;
  /** The part of `externalBytes` in ArrayBuffers (every Buffer; wasm memories count here too). */
  arrayBuffersBytes: number;
}

export type ChildMessage =
  | { type: 'ready'; port?: number; address?: string }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

export interface Request<T = unknown> {
  type: 'request';
  id: number;
  body: T;
}

/**
 * A parent-side handle: send a request body, get the child's reply value. A child that has died
 * (or dies before answering) fails the request with how it ended and `output`'s tail (its stderr).
 */
export function ipcClient(child: ChildProcess, output: () => string = () => ''): <R>(body: unknown, timeoutMs?: number) => Promise<R> {
  let next = 1;
  const ended = (code: number | null, signal: NodeJS.Signals | null, body: unknown) =>
    new Error(`process ${child.pid} ${signal ? `was killed by ${signal}` : `exited (${code})`} before answering ${JSON.stringify(body)}; its last output:\n${output().slice(-3000)}`);
  return <R>(body: unknown, timeoutMs = 30 * 60_000) =>
    new Promise<R>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(ended(child.exitCode, child.signalCode, body));
      const id = next++;
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (message: ChildMessage): void => {
        if (message.type !== 'reply' || message.id !== id) return;
        cleanup();
        if (message.ok) resolve(message.value as R);
        else reject(new Error(message.error));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        cleanup();
        reject(ended(code, signal, body));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no answer to ${JSON.stringify(body)} within ${timeoutMs} ms`));
      }, timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      // With a callback, a closed channel is not an 'error' event (which crashed the runner): the
      // child is going away, and its exit handler reports how.
      child.send({ type: 'request', id, body } satisfies Request, () => undefined);
    });
}

/** Waits for the child's `ready` message. */
export function whenReady(child: ChildProcess, timeoutMs = 60_000): Promise<Extract<ChildMessage, { type: 'ready' }>> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: ChildMessage): void => {
      if (message.type !== 'ready') return;
      cleanup();
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`process exited (${code}) before it was ready`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`process not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Child side: announce readiness and answer requests with `handle`. */
export function serveIpc(ready: Omit<Extract<ChildMessage, { type: 'ready' }>, 'type'>, handle: (body: unknown) => Promise<unknown>): void {
  if (!process.send) throw new Error('this entry point runs as a child of bench/main.ts (no IPC channel)');
  const send = process.send.bind(process);
  process.on('message', (message: Request) => {
    if (message?.type !== 'request') return;
    handle(message.body).then(
      (value) => send({ type: 'reply', id: message.id, ok: true, value } satisfies ChildMessage),
      (error: unknown) => send({ type: 'reply', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies ChildMessage),
    );
  });
  // The runner going away (crash, Ctrl-C) must not leave servers behind.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', ...ready } satisfies ChildMessage);
}

/** What every bench server answers to `{op: 'memory', gc}`: heap after an optional full GC. */
export function memoryReport(gc: boolean): MemoryReport {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (gc && collect) collect();
  const usage = process.memoryUsage();
  return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, heapTotalBytes: usage.heapTotal, externalBytes: usage.external, arrayBuffersBytes: usage.arrayBuffers };
}
