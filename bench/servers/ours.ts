// Our decision service in its own process, started through the same programmatic API as
// `storage-authz serve` (startService). The runner passes the ServeConfig as JSON and talks to it
// over IPC (readiness with the bound port, memory reports).
import type { ServeConfig } from '../../src/serve/config.js';
import { startService } from '../../src/serve/service.js';
import { memoryReport, serveIpc } from '../support/ipc.js';
import { TailRecorder, tailOps } from '../support/tail.js';

const config = JSON.parse(process.argv[2] ?? '') as ServeConfig;
const service = await startService(config);

// Exit through process.exit so `node --cpu-prof` writes its profile.
const shutdown = (): void => {
  void service.close().finally(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
serveIpc({ port: service.checkPort }, tailOps(new TailRecorder(), async (body) => memoryReport((body as { gc?: boolean }).gc === true)));
