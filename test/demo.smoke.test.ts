// `npm run demo` once, as a user runs it: it must exit 0, which it does only when every driver call
// got the result a storage admin expects (src/demo/main.ts checks each one).
import { expect } from 'chai';
import path from 'node:path';
import { start } from '../src/harness/process.js';
import { repoRoot } from '../src/harness/tools.js';

describe('npm run demo (smoke test)', function () {
  this.timeout(180_000);

  it('runs to the end with every driver call answered as expected', async () => {
    const demo = start(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/demo/main.ts')], { cwd: repoRoot, env: { ...process.env, REDIS_URL: '' } });
    const code = await new Promise<number | null>((resolve) => demo.child.once('exit', (exitCode) => resolve(exitCode)));
    const output = demo.output();
    expect(code, output).to.equal(0);
    expect(output).to.match(/team-a\s+login \(answered by storage-authz\)\s+allowed/);
    expect(output).to.match(/team-b\s+delete team-a's k8s-vol-1\s+DENIED 403: delete denied: volume "k8s-vol-1" is not owned by tenant "team-b"/);
    expect(output).to.match(/usage per pool/);
  });
});
