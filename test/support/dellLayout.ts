// Running a process with exactly the file layout a Kubernetes pod spec gives a container — absolute
// paths such as /etc/karavi-authorization/config/config or /vxflexos-config/config — without
// touching the host: a private mount namespace (a user namespace, so no root is needed) and a chroot
// whose /usr, /proc, /dev, /sys, /tmp, the clone's top directory and the user's home (per-user
// toolchains: pyenv's Python runs the Envoy wrapper) are the host's, whose /etc links to the host's
// entries, and where the given files are the only other content.
import { mkdir, readdir, readlink, lstat, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { start, type Started } from '../../src/harness/process.js';

/** The first component of an absolute path: /check/work/main → check. */
function topLevel(file: string): string | undefined {
  return path.resolve(file).split('/').filter(Boolean)[0];
}

/**
 * The host directories the chroot shares: the system's, plus wherever the command, the working
 * directory (the clone, wherever CI put it) and the user's home live.
 */
function boundDirectories(command: string, cwd: string): string[] {
  const places = [command, realpathSync(command), cwd, realpathSync(cwd), homedir()].map(topLevel);
  const bound = new Set(['usr', 'proc', 'dev', 'sys', 'tmp']);
  for (const place of places) if (place && place !== 'etc') bound.add(place);
  return [...bound];
}

/**
 * Starts `command` (absolute, under a bound directory) chrooted into `root` with `files` (absolute
 * path → content) in place and exactly `env` as its environment.
 */
export async function startInLayout(root: string, files: Record<string, string>, command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Started> {
  const bound = boundDirectories(command, cwd);
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await mkdir(path.join(root, 'host-etc'), { recursive: true });
  for (const dir of bound) await mkdir(path.join(root, dir), { recursive: true });
  // The host's top-level symlinks (bin -> usr/bin, lib -> usr/lib …), as they are.
  for (const entry of await readdir('/')) {
    if (bound.includes(entry)) continue;
    const stat = await lstat(path.join('/', entry));
    if (stat.isSymbolicLink()) await symlink(await readlink(path.join('/', entry)), path.join(root, entry));
  }
  for (const entry of await readdir('/etc')) await symlink(path.join('/host-etc', entry), path.join(root, 'etc', entry));
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(root, file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  const mounts = [...bound.map((dir) => `mount --rbind /${dir} '${root}/${dir}'`), `mount --rbind /etc '${root}/host-etc'`];
  const script = `set -e; ${mounts.join('; ')}; cd /; exec chroot '${root}' sh -c 'cd "$0" && exec "$@"' '${cwd}' "$@"`;
  return start('unshare', ['--user', '--map-root-user', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', command, ...args], { env });
}
