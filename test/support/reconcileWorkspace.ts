// The workspace both reconciliation suites reconcile: one PowerFlex pool, tenant team-a owning the
// `ta` volume prefix, and no pass timer (the tests run passes themselves).
import { createWorkspace, type Workspace } from '../../src/demo/workspace.js';
import type { FakePowerFlexGateway } from '../../src/fakes/powerflex/gateway.js';

export const BRONZE = { id: '3df6b86600000000', name: 'bronze' };

export function reconcileWorkspace(gateway: FakePowerFlexGateway, quotaGiB: number): Promise<Workspace> {
  return createWorkspace({
    array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: 'admin', password: 'Password123!' },
    pool: BRONZE.name,
    quotaGiB,
    tenants: [{ name: 'team-a', approveSdc: false, volumePrefix: 'ta' }],
    pollInterval: '0',
  });
}
