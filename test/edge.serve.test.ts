// startService's readiness contract, with real files, the real policy bundle and a real gRPC server:
// health says NOT_SERVING (and every Check is a 503) until everything is loaded, and a start that
// cannot complete releases what it opened.
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { envoyServices } from '../src/check/protos.js';
import type { CheckResponseMessage } from '../src/check/wire.js';
import { createWorkspace, SIGNING_KEY_ID, type Workspace } from '../src/demo/workspace.js';
import { parseServeConfig } from '../src/serve/config.js';
import { startService } from '../src/serve/service.js';
import { healthStatus, unaryCall } from './support/grpc.js';
import { freePort } from '../src/harness/ports.js';
import { waitFor } from '../src/harness/wait.js';

describe('storage-authz serve start-up', function () {
  this.timeout(60_000);
  let workspace: Workspace;

  before(async () => {
    workspace = await createWorkspace({
      array: { endpoint: 'https://127.0.0.1:1', systemId: '542a2d5f5122210f', ca: '', username: 'u', password: 'p' },
      pool: 'bronze',
      quotaGiB: 8,
      tenants: [{ name: 'a', approveSdc: false }],
    });
  });
  after(async () => {
    await workspace?.remove();
  });

  it('is NOT_SERVING and denies 503 until its quota store answers, then gives up and closes its port', async () => {
    const [checkPort, deadRedisPort] = [await freePort(), await freePort()];
    const address = `127.0.0.1:${checkPort}`;
    const starting = startService(
      parseServeConfig({
        listen: address,
        resourcesDir: workspace.resourcesDir,
        secretsDir: workspace.secretsDir,
        signingKeysDir: workspace.keysDir,
        defaultKid: SIGNING_KEY_ID,
        redisUrl: `redis://127.0.0.1:${deadRedisPort}`,
      }),
    );
    const outcome = starting.then(
      () => 'started',
      (error: Error) => error.message,
    );

    let health: string | undefined;
    await waitFor(async () => {
      health = await healthStatus(address).catch(() => undefined);
      return health !== undefined;
    }, 'the health service to answer');
    expect(health).to.equal('NOT_SERVING');
    const check = await unaryCall<CheckResponseMessage>(envoyServices().authorization, address, 'Check', { attributes: { request: { http: { method: 'GET', path: '/api/version/' } } } });
    expect(check.denied_response?.status.code).to.equal('ServiceUnavailable');
    expect(JSON.parse(check.denied_response?.body ?? '{}')).to.deep.equal({ error: 'authorization service is starting', code: 503 });

    expect(await outcome).to.contain('unavailable');
    const afterFailure = await healthStatus(address).then(
      () => 'answered',
      (error: grpc.ServiceError) => error.code,
    );
    expect(afterFailure).to.equal(grpc.status.UNAVAILABLE);
  });
});
