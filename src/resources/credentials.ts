// Array credentials from files: a Kubernetes Secret mounted at `<secretsDir>/<secret>/` with files
// `username` and `password`, or a Secrets Store CSI (Vault, Conjur) volume mounted at
// `<secretsDir>/<secretProviderClass>/` with the files its Storage object names. A file is re-read
// when it changes (kubelet and the CSI driver rotate by swapping the `..data` symlink, which gives
// the visible path a new inode and mtime), so rotation needs no restart.
//
// Credentials are read on every allowed request, so a file is checked for change (one `stat`) at
// most once per `revalidateMs`: the `stat`s were a third of a decision's CPU (npm run bench). A
// rotation is seen within that interval — far below kubelet's own Secret sync period.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ArrayCredentials, StorageSystem } from './types.js';

export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

interface CachedFile {
  stamp: string;
  value: string;
  /** When the stamp was last compared with the file (ms, from `now`). */
  checkedAt: number;
}

export interface CredentialFilesOptions {
  /** How long a file read stays trusted before its stamp is checked again (default 1000 ms). */
  revalidateMs?: number;
  now?: () => number;
}

export const DEFAULT_CREDENTIALS_REVALIDATE_MS = 1000;

/** A system's two credential files, and the credentials last read from them. */
interface SystemFiles {
  userFile: string;
  passwordFile: string;
  credentials?: ArrayCredentials;
}

export class CredentialFiles {
  private readonly cache = new Map<string, CachedFile>();
  /** By Storage object (a new one per resources generation). */
  private readonly files = new WeakMap<StorageSystem, SystemFiles>();
  private readonly revalidateMs: number;
  private readonly now: () => number;

  constructor(
    private readonly secretsDir: string,
    options: CredentialFilesOptions = {},
  ) {
    this.revalidateMs = options.revalidateMs ?? DEFAULT_CREDENTIALS_REVALIDATE_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Errors name the Storage object and the file, never a file's content. While the files are
   * unchanged the same object is returned, so what is derived from it (a session's identity, a Basic
   * header) is derived once, not on every request.
   */
  async read(system: StorageSystem): Promise<ArrayCredentials> {
    const files = this.files.get(system) ?? this.locate(system);
    const [username, password] = await Promise.all([this.readFile(system, files.userFile), this.readFile(system, files.passwordFile)]);
    const known = files.credentials;
    if (known?.username === username && known.password === password) return known;
    files.credentials = { username, password };
    return files.credentials;
  }

  private locate(system: StorageSystem): SystemFiles {
    const ref = system.credentials;
    const names = ref.kind === 'secret' ? ['username', 'password'] : [ref.usernameObjectName, ref.passwordObjectName];
    const [userFile, passwordFile] = names.map((name) => path.join(this.secretsDir, ref.name, name)) as [string, string];
    const files = { userFile, passwordFile };
    this.files.set(system, files);
    return files;
  }

  private async readFile(system: StorageSystem, file: string): Promise<string> {
    const cached = this.cache.get(file);
    const now = this.now();
    if (cached && now - cached.checkedAt < this.revalidateMs) return cached.value;
    try {
      const info = await stat(file);
      const stamp = `${info.ino}:${info.mtimeMs}:${info.size}`;
      if (cached?.stamp === stamp) {
        cached.checkedAt = now;
        return cached.value;
      }
      const value = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
      if (value === '') throw new CredentialsError(`Storage "${system.name}": credentials file ${file} is empty`);
      this.cache.set(file, { stamp, value, checkedAt: now });
      return value;
    } catch (error) {
      if (error instanceof CredentialsError) throw error;
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new CredentialsError(`Storage "${system.name}": cannot read credentials file ${file} (${code})`);
    }
  }
}
