// Watches a mounted directory (a plain directory, a Kubernetes ConfigMap or Secret volume) and calls
// back once a burst of changes has settled. Watching the directory rather than each file is what
// catches both editors that save by writing a temp file and renaming it over the original, and the
// kubelet's atomic `..data` symlink swap, which never touches the visible file names.
import { watch, type FSWatcher } from 'node:fs';

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
