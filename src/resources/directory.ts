// ResourceSource backed by a directory of YAML (a plain directory or a mounted ConfigMap), reloaded
// when it changes. A change is all or nothing: an invalid directory is rejected as a whole, logged
// with file/object/field, reported to `onRejected`, and the last good snapshot stays in force.
import type { Logger } from '../telemetry/log.js';
import { CredentialFiles } from './credentials.js';
import { formatResourceError, ResourceLoadError, type ResourceError } from './errors.js';
import { loadResourceDirectory } from './load.js';
import { sameResources } from './snapshot.js';
import type { ArrayCredentials, ResourceSnapshot, ResourceSource, StorageSystem } from './types.js';
import { watchAndReload, type ReloadingValue } from './watch.js';

export interface DirectoryResourcesOptions {
  /** Where Storage credential volumes are mounted: `<secretsDir>/<secret or SPC name>/<file>`. */
  secretsDir: string;
  logger: Logger;
  /** A change was rejected (the previous snapshot stays); for tests and status reporting. */
  onRejected?: (errors: readonly ResourceError[]) => void;
  debounceMs?: number;
  /** How stale a credential file read may be before it is checked again (default 1000 ms). */
  credentialsRevalidateMs?: number;
}

export class DirectoryResources implements ResourceSource {
  private constructor(
    private readonly snapshots: ReloadingValue<ResourceSnapshot>,
    private readonly credentialFiles: CredentialFiles,
  ) {}

  /** Loads `dir`; rejects with a ResourceLoadError listing every problem if it is not valid. */
  static async open(dir: string, options: DirectoryResourcesOptions): Promise<DirectoryResources> {
    const { logger } = options;
    const snapshots = await watchAndReload<ResourceSnapshot>(dir, {
      what: 'resources',
      load: async (previous) => {
        const build = await loadResourceDirectory(dir, (previous?.generation ?? 0) + 1);
        if (!build.ok) throw new ResourceLoadError(dir, build.errors);
        return build.snapshot;
      },
      equal: sameResources,
      logger,
      onRejected: (error) => {
        const errors = error instanceof ResourceLoadError ? error.errors : [{ file: dir, message: String(error) }];
        for (const problem of errors) {
          logger.warn({ dir }, `resource change rejected, previous resources stay in force: ${formatResourceError(problem)}`);
        }
        options.onRejected?.(errors);
      },
      debounceMs: options.debounceMs,
    });
    const describe = (s: ResourceSnapshot) => ({ generation: s.generation, tenants: s.tenants.size, roles: s.roles.size, storage: s.storage.size });
    logger.info({ dir, ...describe(snapshots.current()) }, 'resources loaded');
    snapshots.onChange((s) => logger.info({ dir, ...describe(s) }, 'resources reloaded'));
    return new DirectoryResources(snapshots, new CredentialFiles(options.secretsDir, { revalidateMs: options.credentialsRevalidateMs }));
  }

  current(): ResourceSnapshot {
    return this.snapshots.current();
  }

  onChange(listener: (snapshot: ResourceSnapshot) => void): () => void {
    return this.snapshots.onChange(listener);
  }

  credentials(system: StorageSystem): Promise<ArrayCredentials> {
    return this.credentialFiles.read(system);
  }

  /** Re-reads the directory now (wire to SIGHUP); resolves false when the content was rejected. */
  reload(): Promise<boolean> {
    return this.snapshots.reload();
  }

  close(): void {
    this.snapshots.close();
  }
}
