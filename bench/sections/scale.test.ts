import { expect } from 'chai';
import { AUTHZ_CLUSTER, renderEdgeConfig } from '../../src/envoy/edge.js';
import { withAuthzEndpoints } from './scale.js';

const edge = () =>
  renderEdgeConfig({
    listen: { address: '127.0.0.1', port: 8443 },
    tls: { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' },
    authz: { address: '127.0.0.1:9191' },
    storage: [],
    authzTimeoutMs: 5000,
  });

type Cluster = { name: string; load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: unknown } }> }> }; health_checks?: unknown };
const authzCluster = (bootstrap: object): Cluster =>
  ((bootstrap as { static_resources: { clusters: Cluster[] } }).static_resources.clusters).find((c) => c.name === AUTHZ_CLUSTER)!;

describe('scale-out edge bootstrap', () => {
  it('balances the authz cluster over every replica and changes nothing else of it', () => {
    const original = edge();
    const scaled = withAuthzEndpoints(original, AUTHZ_CLUSTER, ['127.0.0.1:9191', '127.0.0.1:9292']);
    const cluster = authzCluster(scaled);
    expect(cluster.load_assignment.endpoints[0]!.lb_endpoints.map((e) => e.endpoint.address)).to.deep.equal([
      { socket_address: { address: '127.0.0.1', port_value: 9191 } },
      { socket_address: { address: '127.0.0.1', port_value: 9292 } },
    ]);
    expect(cluster.health_checks).to.deep.equal(authzCluster(original).health_checks);
    expect(authzCluster(original).load_assignment.endpoints[0]!.lb_endpoints).to.have.length(1);
  });
});
