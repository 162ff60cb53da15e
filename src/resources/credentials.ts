// Array credentials from files: a Kubernetes Secret mounted at `<secretsDir>/<secret>/` with files
// `username` and `password`, or a Secrets Store CSI (Vault, Conjur) volume mounted at
// `<secretsDir>/<secretProviderClass>/` with the files its Storage object names. A file is re-read
// when it changes (kubelet and the CSI driver rotate by swapping the `..data` symlink, which gives
// the visible path a new inode and mtime), so rotation needs no restart.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ArrayCredentials, StorageSystem } from './types.js';

export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

interface CachedFile {
  stamp: string;
  value: string;
}

export class CredentialFiles {
  private readonly cache = new Map<string, CachedFile>();

  constructor(private readonly secretsDir: string) {}

  /** Errors name the Storage object and the file, never a file's content. */
  async read(system: StorageSystem): Promise<ArrayCredentials> {
    const ref = system.credentials;
    const names = ref.kind === 'secret' ? ['username', 'password'] : [ref.usernameObjectName, ref.passwordObjectName];
    const [userFile, passwordFile] = names.map((name) => path.join(this.secretsDir, ref.name, name)) as [string, string];
    const [username, password] = await Promise.all([this.readFile(system, userFile), this.readFile(system, passwordFile)]);
    return { username, password };
  }

  private async readFile(system: StorageSystem, file: string): Promise<string> {
    try {
      const info = await stat(file);
      const stamp = `${info.ino}:${info.mtimeMs}:${info.size}`;
      const cached = this.cache.get(file);
      if (cached?.stamp === stamp) return cached.value;
      const value = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
      if (value === '') throw new CredentialsError(`Storage "${system.name}": credentials file ${file} is empty`);
      this.cache.set(file, { stamp, value });
      return value;
    } catch (error) {
      if (error instanceof CredentialsError) throw error;
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new CredentialsError(`Storage "${system.name}": cannot read credentials file ${file} (${code})`);
    }
  }
}
