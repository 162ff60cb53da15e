// Running a process with exactly the file layout a Kubernetes pod spec gives a container — absolute
// paths such as /etc/karavi-authorization/config/config or /vxflexos-config/config — without
// touching the host: a private mount namespace (a user namespace, so no root is needed) and a chroot
// whose /usr, /proc, /dev, /sys, /tmp, /work and the user's home (per-user toolchains: pyenv's Python
// runs the Envoy wrapper) are the host's, whose /etc links to the host's entries, and where the
// given files are the only other content.
import { mkdir, readdir, readlink, lstat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { start, type Started } from '../../src/harness/process.js';

const BOUND = ['usr', 'proc', 'dev', 'sys', 'tmp', 'work', ...(homedir().split('/').filter(Boolean).length === 1 ? [homedir().slice(1)] : [])];

/**
 * Starts `command` (absolute, under a bound directory) chrooted into `root` with `files` (absolute
 * path → content) in place and exactly `env` as its environment.
 */
export async function startInLayout(root: string, files: Record<string, string>, command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Started> {
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await mkdir(path.join(root, 'host-etc'), { recursive: true });
  for (const dir of BOUND) await mkdir(path.join(root, dir), { recursive: true });
  // The host's top-level symlinks (bin -> usr/bin, lib -> usr/lib …), as they are.
  for (const entry of await readdir('/')) {
    if (BOUND.includes(entry)) continue;
    const stat = await lstat(path.join('/', entry));
    if (stat.isSymbolicLink()) await symlink(await readlink(path.join('/', entry)), path.join(root, entry));
  }
  for (const entry of await readdir('/etc')) await symlink(path.join('/host-etc', entry), path.join(root, 'etc', entry));
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(root, file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  const mounts = [...BOUND.map((dir) => `mount --rbind /${dir} '${root}/${dir}'`), `mount --rbind /etc '${root}/host-etc'`];
  const script = `set -e; ${mounts.join('; ')}; cd /; exec chroot '${root}' sh -c 'cd "$0" && exec "$@"' '${cwd}' "$@"`;
  return start('unshare', ['--user', '--map-root-user', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', command, ...args], { env });
}
