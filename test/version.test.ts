import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../src/harness/tools.js';
import { runAuthzctl } from './support/authzctl.js';

const run = promisify(execFile);

describe('--version on both CLIs', function () {
  this.timeout(60_000);
  let version: string;
  before(async () => {
    version = (JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    await run('npx', ['tsc', '-p', 'src/cli/tsconfig.json'], { cwd: repoRoot });
  });

  it('storage-authz --version prints the release and exits 0', async () => {
    const { stdout } = await run(process.execPath, [path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), path.join(repoRoot, 'src/main.ts'), '--version']);
    expect(stdout).to.equal(`${version}\n`);
  });

  it('authzctl --version (built) prints the release and exits 0', async () => {
    const result = await runAuthzctl(['--version']);
    expect(result).to.include({ code: 0, stdout: `${version}\n` });
  });
});
