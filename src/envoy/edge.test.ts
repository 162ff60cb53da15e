import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { envoyBin, repoRoot } from '../harness/tools.js';
import { loadResourceDirectory } from '../resources/load.js';
import type { StorageSystem } from '../resources/types.js';
import { generateServingCertificate } from '../sidecar/certificates.js';
import { renderEdgeConfig, type EdgeConfigInput } from './edge.js';

const run = promisify(execFile);

const storage = (name: string, endpoint: string, skipCertificateValidation = false, type: StorageSystem['type'] = 'powerflex'): StorageSystem => ({
  name,
  type,
  systemID: `${name}-id`,
  endpoint,
  skipCertificateValidation,
  credentials: { kind: 'secret', name: `${name}-creds` },
});

describe('edge Envoy config', () => {
  let dir: string;
  let input: EdgeConfigInput;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'edge-envoy-'));
    const certificate = await generateServingCertificate(new Date(), 3_600_000);
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    await writeFile(certFile, certificate.certPem);
    await writeFile(keyFile, certificate.keyPem);
    input = {
      listen: { address: '0.0.0.0', port: 8443 },
      tls: { certFile, keyFile },
      authz: { address: 'unix:/run/storage-authz.sock' },
      adminApi: { address: '127.0.0.1:8080' },
      envoyAdmin: { address: '127.0.0.1', port: 9901 },
      envoyStats: { address: '0.0.0.0', port: 9102 },
      storage: [
        { ...storage('pf-lab', 'https://powerflex.lab.example:8443'), maxConcurrentRequests: 10 },
        storage('pf-ip', 'https://10.0.0.1', true),
        { ...storage('ps-lab', 'https://powerstore.lab.example', false, 'powerstore'), maxConcurrentRequests: 4 },
      ],
      caFile: certFile,
    };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const clusters = (config: Record<string, unknown>) =>
    (config.static_resources as { clusters: Record<string, unknown>[] }).clusters;

  it('passes envoy --mode validate', async () => {
    const file = path.join(dir, 'edge.json');
    await writeFile(file, JSON.stringify(renderEdgeConfig(input)));
    const { stdout, stderr } = await run(envoyBin, ['--mode', 'validate', '-c', file, '--log-level', 'error', '--disable-hot-restart']);
    expect(stdout + stderr).to.include('OK');
  });

  it('renders one cluster per Storage, verifying the array certificate unless told not to', () => {
    const byName = new Map(clusters(renderEdgeConfig(input)).map((cluster) => [cluster.name, JSON.stringify(cluster)]));
    expect([...byName.keys()]).to.deep.equal(['storage-authz', 'storage-pf-lab', 'storage-pf-ip', 'storage-ps-lab', 'storage-authz-admin', 'envoy-admin']);
    expect(byName.get('storage-pf-lab')).to.include('"sni":"powerflex.lab.example"').and.include('"trusted_ca"').and.include('"exact":"powerflex.lab.example"');
    expect(byName.get('storage-pf-ip')).to.not.include('validation_context').and.not.include('"sni"');
  });

  it("bounds an array's requests in flight by its maxConcurrentRequests, and leaves Envoy's defaults when unset", () => {
    const byName = new Map(clusters(renderEdgeConfig(input)).map((cluster) => [cluster.name, cluster]));
    expect(byName.get('storage-pf-lab')!.circuit_breakers).to.deep.equal({ thresholds: [{ priority: 'DEFAULT', max_requests: 10, max_pending_requests: 10, track_remaining: true }] });
    expect(byName.get('storage-pf-ip')).to.not.have.property('circuit_breakers');
  });

  it("answers an array's overflow in that array's error shape with Retry-After, one mapper per Storage", () => {
    const listeners = (renderEdgeConfig(input).static_resources as { listeners: { filter_chains: { filters: { typed_config: { local_reply_config: { mappers: Record<string, unknown>[] } } }[] }[] }[] }).listeners;
    const mappers = listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.local_reply_config.mappers;
    expect(mappers.map((mapper) => JSON.stringify(mapper.filter))).to.satisfy((filters: string[]) =>
      filters.every((filter, i) => filter.includes('"flags":["UO"]') && filter.includes(`"exact":"${input.storage[i]!.type}/${input.storage[i]!.systemID}"`)),
    );
    const bodies = mappers.map((mapper) => JSON.parse((mapper.body as { inline_string: string }).inline_string) as Record<string, unknown>);
    expect(bodies[0]).to.deep.equal({ errorCode: 503, httpStatusCode: 503, message: 'storage "pf-lab" is at its limit of 10 concurrent requests; retry after 1 s' });
    expect(bodies[2]).to.have.nested.property('messages[0].message_l10n', 'storage "ps-lab" is at its limit of 4 concurrent requests; retry after 1 s');
    expect(mappers[0]).to.deep.include({ status_code: 503, headers_to_add: [{ header: { key: 'retry-after', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] });
  });

  it('serves only GET /stats/prometheus on the stats listener, and needs the admin interface for it', () => {
    const listeners = (renderEdgeConfig(input).static_resources as { listeners: Record<string, unknown>[] }).listeners;
    expect(JSON.stringify(listeners[1])).to.include('"path":"/stats/prometheus"').and.include('"exact":"GET"').and.include('"direct_response":{"status":404}');
    expect(() => renderEdgeConfig({ ...input, envoyAdmin: undefined })).to.throw('give envoyAdmin too');
  });

  it('passes envoy --mode validate asking over http_service, unix sockets included', async () => {
    const file = path.join(dir, 'edge-http.json');
    await writeFile(file, JSON.stringify(renderEdgeConfig({ ...input, authz: { address: 'unix:/run/storage-authz.sock', httpAddress: 'unix:/run/storage-authz-http.sock' } })));
    const { stdout, stderr } = await run(envoyBin, ['--mode', 'validate', '-c', file, '--log-level', 'error', '--disable-hot-restart']);
    expect(stdout + stderr).to.include('OK');
  });

  it('over http_service: restores a deny status only where the answer names it, and the path filter never runs on /proxy/', () => {
    const config = renderEdgeConfig({ ...input, authz: { address: '127.0.0.1:50051', httpAddress: '127.0.0.1:50052' } });
    const manager = (config.static_resources as { listeners: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[] }).listeners[0]!.filter_chains[0]!.filters[0]!.typed_config;
    const mappers = (manager.local_reply_config as { mappers: { filter: { metadata_filter?: Record<string, unknown> }; status_code: number }[] }).mappers;
    const restoring = mappers.filter((mapper) => mapper.filter.metadata_filter);
    expect(restoring.map((mapper) => mapper.status_code)).to.deep.equal([200, 201, 204, 500, 502, 503, 504, 507]);
    // Unset, a metadata filter matches when the key is missing: every local reply would become a 200.
    expect(restoring.every((mapper) => mapper.filter.metadata_filter!.match_if_key_not_found === false)).to.equal(true);
    expect((manager.http_filters as { name: string }[]).map((filter) => filter.name)).to.deep.equal(['envoy.filters.http.ext_authz', 'storage-authz.path', 'envoy.filters.http.router']);
    const routes = (manager.route_config as { virtual_hosts: { routes: { match: { prefix: string }; typed_per_filter_config?: Record<string, { disabled?: boolean }> }[] }[] }).virtual_hosts[0]!.routes;
    expect(routes[0]!.match.prefix).to.equal('/proxy/');
    expect(routes[0]!.typed_per_filter_config?.['storage-authz.path']?.disabled).to.equal(true);
    expect(clusters(config).map((cluster) => cluster.name)).to.include('storage-authz-http');
    // Only the allow's own headers reach the array, and only a deny's answer headers the driver.
    expect(JSON.stringify(manager.http_filters)).to.include('"allowed_upstream_headers"').and.include('"allowed_client_headers"').and.not.include('"pack_as_bytes"');
  });

  it('defaults to the system CA bundle for array certificates', () => {
    const withoutCa = renderEdgeConfig({ ...input, caFile: undefined });
    expect(JSON.stringify(clusters(withoutCa)[1])).to.include('/etc/ssl/certs/ca-certificates.crt');
  });

  it('matches the committed example envoy/edge.example.yaml', async () => {
    const build = await loadResourceDirectory(path.join(repoRoot, 'examples/resources'), 1);
    if (!build.ok) throw new Error(JSON.stringify(build.errors));
    const rendered = renderEdgeConfig({
      listen: { address: '0.0.0.0', port: 8443 },
      tls: { certFile: '/etc/storage-authz/edge/tls.crt', keyFile: '/etc/storage-authz/edge/tls.key' },
      authz: { address: '127.0.0.1:50051' },
      adminApi: { address: '127.0.0.1:8080' },
      envoyAdmin: { address: '127.0.0.1', port: 9901 },
      storage: [...build.snapshot.storage.values()],
    });
    expect(parseYaml(await readFile(path.join(repoRoot, 'envoy/edge.example.yaml'), 'utf8'))).to.deep.equal(rendered);
  });

  it('refuses a Storage endpoint that is not https, naming the Storage', () => {
    expect(() => renderEdgeConfig({ ...input, storage: [storage('plain', 'http://10.0.0.1')] })).to.throw('Storage "plain"');
  });
});
