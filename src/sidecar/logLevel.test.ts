import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { waitFor } from '../harness/wait.js';
import { followLogLevel, parseLogLevel } from './logLevel.js';

describe('sidecar log level from driver-config-params.yaml', () => {
  it("reads CSI_LOG_LEVEL in Dell's logrus spelling", () => {
    expect(parseLogLevel('CSI_LOG_LEVEL: "debug"\nCSI_LOG_FORMAT: "TEXT"\n', 'p')).to.equal('debug');
    expect(parseLogLevel('CSI_LOG_LEVEL: WARNING\n', 'p')).to.equal('warn');
    expect(parseLogLevel('CSI_LOG_LEVEL: panic\n', 'p')).to.equal('fatal');
    expect(parseLogLevel('CSI_LOG_FORMAT: JSON\n', 'p')).to.equal(undefined);
    expect(() => parseLogLevel('CSI_LOG_LEVEL: loud\n', 'params.yaml')).to.throw('params.yaml: CSI_LOG_LEVEL "loud" is not one of panic, fatal, error, warn, warning, info, debug, trace');
  });

  it('follows the file as Dell hot-reloads it, keeping the level when a change is unusable', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'log-level-'));
    const file = path.join(dir, 'driver-config-params.yaml');
    const logger = pino({ level: 'info' }, { write: () => undefined });
    try {
      await writeFile(file, 'CSI_LOG_LEVEL: debug\n');
      const followed = await followLogLevel(file, logger, 'info');
      expect(logger.level).to.equal('debug');
      await writeFile(file, 'CSI_LOG_LEVEL: error\n');
      await waitFor(() => logger.level === 'error', 'the new level', 10_000, 20);
      await writeFile(file, 'CSI_LOG_LEVEL: loud\n');
      await followed!.reload();
      expect(logger.level).to.equal('error');
      followed!.close();
      expect(await followLogLevel(path.join(dir, 'absent-dir', 'p.yaml'), logger, 'info')).to.equal(undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
