import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../harness/tools.js';

// The logger writes asynchronously; what a process logged before it exits must still reach stdout.
const script = `
import { createLogger } from ${JSON.stringify(path.join(repoRoot, 'src/telemetry/log.ts'))};
const logger = createLogger({ level: 'info' });
for (let i = 0; i < 5000; i += 1) logger.info({ n: i, token: 'secret-value' }, 'decision');
process.exit(3);
`;

describe('createLogger', function () {
  this.timeout(30_000);

  it('loses no line when the process exits right after logging, and still redacts', async () => {
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, maxBuffer: 64 * 2 ** 20 }).catch((error: { code?: number; stdout: string }) => error);
    expect(result).to.have.property('code', 3);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { n: number; token: string; msg: string });
    expect(lines).to.have.length(5000);
    expect(lines.at(-1)).to.include({ n: 4999, msg: 'decision', token: '[redacted]' });
  });
});
