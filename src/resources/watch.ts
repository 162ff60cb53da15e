// Watches a mounted directory (a plain directory, a Kubernetes ConfigMap or Secret volume) and calls
// back once a burst of changes has settled. Watching the directory rather than each file is what
// catches both editors that save by writing a temp file and renaming it over the original, and the
// kubelet's atomic `..data` symlink swap, which never touches the visible file names.
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../telemetry/log.js';

export interface DirectoryWatch {
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before `onSettled` runs; one save often emits several events. */
  debounceMs?: number;
  /** The watcher itself failed (e.g. the directory was removed); the owner decides how to report it. */
  onError?: (error: Error) => void;
}

export function watchDirectory(dir: string, onSettled: () => void, options: WatchOptions = {}): DirectoryWatch {
  const debounceMs = options.debounceMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  // persistent: false: a watcher alone must not keep a process (or a test run) alive.
  const watcher: FSWatcher = watch(dir, { persistent: false }, () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onSettled();
    }, debounceMs);
  });
  watcher.on('error', (error) => options.onError?.(error));
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}

/** A value loaded from a watched directory, replaced whole when a reload is accepted. */
export interface ReloadingValue<T> {
  /** The last accepted value; the same object until a reload accepts a change. */
  current(): T;
  /** Loads again now (e.g. on SIGHUP). Resolves false when the new content was rejected. */
  reload(): Promise<boolean>;
  /** Called after each accepted change; returns an unsubscribe function. */
  onChange(listener: (value: T) => void): () => void;
  close(): void;
}

export interface ReloadOptions<T> {
  /** Reads the directory; throws when its content is not acceptable. Gets the value in force. */
  load: (previous: T | undefined) => Promise<T>;
  /** True when a newly loaded value says the same as the current one (no change to announce). */
  equal: (a: T, b: T) => boolean;
  logger: Logger;
  /** What is being loaded, for log lines: "signing keys", "resources". */
  what: string;
  /** A reload failed; the previous value stays in force. */
  onRejected: (error: unknown) => void;
  debounceMs?: number;
}

/**
 * Loads once (rejecting if that fails), then reloads whenever the directory changes. A failed
 * reload keeps the last good value; listeners run only for an accepted, actual change.
 */
export async function watchAndReload<T>(dir: string, options: ReloadOptions<T>): Promise<ReloadingValue<T>> {
  let current: T = await options.load(undefined);
  const listeners = new Set<(value: T) => void>();

  let closed = false;
  const loadAndApply = async (): Promise<boolean> => {
    let next: T;
    try {
      next = await options.load(current);
    } catch (error) {
      if (!closed) options.onRejected(error);
      return false;
    }
    // After close() nobody is listening any more; a reload that was already running just ends.
    if (closed || options.equal(current, next)) return true;
    current = next;
    for (const listener of listeners) {
      // One failing subscriber must neither block the others nor undo the accepted change.
      try {
        listener(next);
      } catch (error) {
        options.logger.error({ err: (error as Error).message }, `${options.what} change listener failed`);
      }
    }
    return true;
  };
  // Reloads run one after another so a slow read can never overwrite the result of a newer one.
  let queue: Promise<boolean> = Promise.resolve(true);
  const reload = (): Promise<boolean> => (queue = queue.then(loadAndApply));

  const watcher = watchDirectory(dir, () => void reload(), {
    debounceMs: options.debounceMs,
    onError: (error) => options.logger.error({ err: error.message, dir }, `${options.what} directory watch failed`),
  });
  return {
    current: () => current,
    reload,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      watcher.close();
    },
  };
}
