// The real chain (edge Envoy + serve, src/demo/stack.ts) in front of the fake PowerFlex gateway
// behind the fault front, which holds chosen requests until a test lets them reach the array; a
// driver of tenant `ta` with its token. For the tests that need a request to be in flight at a
// chosen moment (settlement races, stopping the pod).
import { PowerFlexDriver } from '../../src/demo/driver.js';
import { startStack, type Stack } from '../../src/demo/stack.js';
import { createWorkspace, type Workspace } from '../../src/demo/workspace.js';
import { FaultInjectingFront, POWERFLEX_CREATES } from '../../src/fakes/faults.js';
import { FakePowerFlexGateway } from '../../src/fakes/powerflex/gateway.js';
import { mintTokenPair } from '../../src/tokens/mint.js';

export const HELD_TENANT = 'ta';

export interface HeldPowerFlex {
  gateway: FakePowerFlexGateway;
  front: FaultInjectingFront;
  workspace: Workspace;
  stack: Stack;
  driver: PowerFlexDriver;
  stop(): Promise<void>;
}

/** Tenant `ta` with `quotaGiB` on pool bronze; no reconciliation (pollInterval 0). */
export async function startHeldPowerFlex(options: { redisUrl?: string; quotaGiB: number }): Promise<HeldPowerFlex> {
  const gateway = await FakePowerFlexGateway.start();
  const front = await FaultInjectingFront.start(gateway, POWERFLEX_CREATES, { createFault: () => 'none' });
  const workspace = await createWorkspace({
    array: { endpoint: front.url, systemId: gateway.systemId, ca: front.ca, username: 'admin', password: 'Password123!' },
    pool: 'bronze', quotaGiB: options.quotaGiB, tenants: [{ name: HELD_TENANT, approveSdc: false }], pollInterval: '0',
  });
  const stack = await startStack({ workspace, ...(options.redisUrl && { redisUrl: options.redisUrl }) });
  const { access } = await mintTokenPair({ keys: workspace.signingKeys, subject: 'csm-tenant', group: HELD_TENANT, roles: [workspace.roleName], accessTtlSeconds: 3600, refreshTtlSeconds: 7200 });
  const driver = new PowerFlexDriver({ edgeUrl: stack.edgeUrl, edgeCa: workspace.edgeCa, accessToken: access, systemId: gateway.systemId, arrayEndpoint: front.url });
  return {
    gateway, front, workspace, stack, driver,
    async stop() {
      await driver.close();
      await stack.stop();
      await front.stop();
      await gateway.stop();
      await workspace.remove();
    },
  };
}
