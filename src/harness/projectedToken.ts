// Writes a token into a directory the way kubelet updates a projected service-account token
// volume: the file lives in a timestamped directory, `..data` points to it, `token` points through
// `..data`, and an update is an atomic rename of a new `..data` symlink (the visible name never changes).
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

export class ProjectedTokenVolume {
  private generation = 0;
  private previous: string | undefined;

  constructor(readonly dir: string) {}

  /** The path a pod reads (`<dir>/token`). */
  get tokenFile(): string {
    return path.join(this.dir, 'token');
  }

  /** Publishes `token` atomically and removes the previous generation, as kubelet does. */
  async write(token: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const generation = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${++this.generation}`;
    await mkdir(path.join(this.dir, generation), { mode: 0o755 });
    await writeFile(path.join(this.dir, generation, 'token'), token, { mode: 0o600 });
    await symlink(generation, path.join(this.dir, '..data_tmp'));
    await rename(path.join(this.dir, '..data_tmp'), path.join(this.dir, '..data'));
    if (this.generation === 1) await symlink(path.join('..data', 'token'), this.tokenFile);
    if (this.previous) await rm(path.join(this.dir, this.previous), { recursive: true, force: true });
    this.previous = generation;
  }
}
