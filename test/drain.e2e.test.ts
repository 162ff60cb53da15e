// Stopping the edge pod (the chart's preStop hook, `storage-authz drain-edge`) against the real edge
// Envoy, serve and the fake PowerFlex behind the fault front, which holds a create on its way to the
// array: the create in flight when the pod is told to stop still reaches the array and is answered,
// and the hook returns once it has, not before.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { activeRequests, drainEdge } from '../src/envoy/drain.js';
import { DEFAULT_POOLS, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { repoRoot } from '../src/harness/tools.js';
import { startHeldPowerFlex, type HeldPowerFlex } from './support/heldPowerFlex.js';

const BRONZE_ID = DEFAULT_POOLS.find((pool) => pool.name === 'bronze')!.id;
const isCreate = (method: string, path: string) => method === 'POST' && path === '/api/types/Volume/instances';

describe('stopping the edge pod: drain-edge (the preStop hook) with the real edge Envoy and serve', function () {
  this.timeout(120_000);
  let chain: HeldPowerFlex;

  beforeEach(async () => {
    chain = await startHeldPowerFlex({ quotaGiB: 64 });
  });
  afterEach(() => chain?.stop());

  it('a create in flight when the pod is told to stop reaches the array and is answered; both containers\' hooks return only then', async () => {
    const held = chain.front.hold(isCreate);
    const create = chain.driver.createVolume('ta-in-flight', BRONZE_ID, 8 * GIB_IN_KIB);
    await held.arrived;
    expect(await activeRequests(chain.stack.envoyAdmin)).to.equal(1);

    /** One container's hook; `running` resolves once it has seen the create running. */
    const hook = () => {
      let readings = 0;
      let sawItRunning!: () => void;
      const running = new Promise<void>((resolve) => (sawItRunning = resolve));
      const result = drainEdge({ admin: chain.stack.envoyAdmin, minMs: 1, timeoutMs: 60_000, pollMs: 20, onReading: (active) => {
        readings += 1;
        if (active === 1) sawItRunning();
      } });
      return { result, running, readings: () => readings };
    };
    // Both containers run the hook (serve's keeps it answering): Envoy is asked to drain twice.
    const envoys = hook();
    const serves = hook();
    await Promise.all([envoys.running, serves.running]);
    // Envoy is draining and the hook is waiting for the create; the array has not seen it yet.
    expect(chain.gateway.volumes.map((volume) => volume.name)).not.to.include('ta-in-flight');
    held.release();
    const answered = await create;
    expect(answered.status, JSON.stringify(answered.body)).to.equal(200);
    // Draining: the driver is told to take its next request to a new connection (another pod).
    expect(answered.headers['connection']).to.equal('close');
    expect(chain.gateway.volumes.map((volume) => volume.name)).to.include('ta-in-flight');
    for (const container of [envoys, serves]) {
      expect(await container.result).to.include({ drained: true, active: 0 });
      expect(container.readings()).to.be.at.least(2);
    }
    // Connections that still arrive while the Service forgets the pod are served, then closed.
    const late = await chain.driver.getVolume((answered.body as { id: string }).id);
    expect(late.status).to.equal(200);
    expect(late.headers['connection']).to.equal('close');
  });

  it('gives up at its timeout, saying how many requests are still running, and leaves them running', async () => {
    const held = chain.front.hold(isCreate);
    const create = chain.driver.createVolume('ta-slow', BRONZE_ID, 8 * GIB_IN_KIB);
    await held.arrived;
    const result = await drainEdge({ admin: chain.stack.envoyAdmin, minMs: 1, timeoutMs: 300, pollMs: 20 });
    expect(result).to.include({ drained: false, active: 1 });
    expect(result.waitedMs).to.be.at.least(300);
    held.release();
    expect((await create).status).to.equal(200);
  });

  it('as a command (the chart runs `storage-authz drain-edge`): says what it waited for; refuses an Envoy it cannot reach, naming it', async () => {
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', `${repoRoot}/src/main.ts`, 'drain-edge', ...args]).then(
        (done) => ({ code: 0, stderr: done.stderr }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    const drained = await cli([`--envoy-admin=${chain.stack.envoyAdmin}`, '--min-ms=1', '--timeout-ms=10000']);
    expect(drained.code, drained.stderr).to.equal(0);
    expect(drained.stderr).to.match(/^drain-edge: no request running after \d+ ms\n$/);
    await chain.stack.stop();
    const refused = await cli([`--envoy-admin=${chain.stack.envoyAdmin}`, '--min-ms=1']);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain(`storage-authz: `).and.contain(chain.stack.envoyAdmin.split(':')[1]);
  });
});
