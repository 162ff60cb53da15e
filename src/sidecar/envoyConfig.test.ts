import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { envoyBin } from '../harness/tools.js';
import { silentLogger } from '../telemetry/log.js';
import { startCertificateRotation } from './certificates.js';
import { parseProxyHost } from './config.js';
import { forwardedValues, renderProxyCaSds, renderSidecarEnvoyBootstrap, type SidecarEnvoyInput } from './envoyConfig.js';
import { startTokenFeed, type TokenFeed } from './tokenFeed.js';
import type { HeldTokenSource } from './tokenHolder.js';

const fixedToken = (accessToken: string, usableUntil: number): HeldTokenSource => ({ held: () => ({ accessToken, usableUntil }), onChange: () => {} });

const run = promisify(execFile);

describe('sidecar Envoy bootstrap', () => {
  let dir: string;
  let input: SidecarEnvoyInput;
  let feed: TokenFeed;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-envoy-'));
    const rotation = await startCertificateRotation({ dir: path.join(dir, 'certs'), logger: silentLogger });
    rotation.stop();
    const caFile = path.join(dir, 'ca', 'ca.pem');
    await mkdir(path.dirname(caFile));
    await writeFile(caFile, rotation.current().certPem);
    await writeFile(path.join(dir, 'proxy-ca.sds.json'), renderProxyCaSds(caFile));
    feed = await startTokenFeed({ source: fixedToken('eyJ.placeholder.token', Date.now() + 3600_000), dir: path.join(dir, 'feed'), logger: silentLogger, appliedVersion: async () => 1 });
    feed.stop();
    const feedFiles = { tokenSdsPath: feed.tokenSdsPath, tokenDir: feed.tokenDir, runtimePath: feed.runtimePath, runtimeDir: feed.runtimeDir };
    input = {
      plugin: 'powerflex',
      proxy: parseProxyHost('csm-authorization.example.com:8443'),
      trust: { kind: 'ca-bundle', caFile },
      arrays: [
        { systemID: '542a2d5f5122210f', listenPort: 9400, intendedEndpoint: 'https://10.0.0.1' },
        { systemID: '7b0d7b6f6c6e5a01', listenPort: 9401, intendedEndpoint: 'https://10.0.0.2' },
      ],
      authzSocketPath: path.join(dir, 'authz.sock'),
      certificateSdsPath: rotation.sdsPath,
      certificateDir: path.join(dir, 'certs'),
      proxyCaSdsPath: path.join(dir, 'proxy-ca.sds.json'),
      ...feedFiles,
      admin: { kind: 'socket', path: '/run/sidecar/envoy-admin.sock' },
    };
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  async function validate(bootstrap: Record<string, unknown>, name: string): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, JSON.stringify(bootstrap));
    const { stdout, stderr } = await run(envoyBin, ['--mode', 'validate', '-c', file, '--log-level', 'error', '--disable-hot-restart']);
    return stdout + stderr;
  }

  it('passes envoy --mode validate with a CA bundle', async () => {
    expect(await validate(renderSidecarEnvoyBootstrap(input), 'ca.json')).to.include('OK');
  });

  it('passes envoy --mode validate when verification is skipped and the proxy is an IP address', async () => {
    const insecure = renderSidecarEnvoyBootstrap({ ...input, trust: { kind: 'insecure' }, proxy: parseProxyHost('10.1.2.3') });
    expect(await validate(insecure, 'insecure.json')).to.include('OK');
  });

  it("renders Dell's two Forwarded values, in Dell's order", () => {
    expect(forwardedValues('powerflex', input.arrays[0]!)).to.deep.equal([
      'for=csm-authorization;https://10.0.0.1;542a2d5f5122210f',
      'by=csm-authorization;powerflex',
    ]);
  });

  it('listens on loopback only, one TLS listener per array port, admin on a private unix socket unless a loopback port is asked for', () => {
    const bootstrap = renderSidecarEnvoyBootstrap(input) as {
      admin: { address: { pipe: { path: string; mode: number } } };
      static_resources: { listeners: { address: { socket_address: { address: string; port_value: number } } }[] };
    };
    expect(bootstrap.admin.address).to.deep.equal({ pipe: { path: '/run/sidecar/envoy-admin.sock', mode: 0o600 } });
    expect(renderSidecarEnvoyBootstrap({ ...input, admin: { kind: 'port', port: 19100 } }).admin).to.deep.equal({ address: { socket_address: { address: '127.0.0.1', port_value: 19100 } } });
    expect(bootstrap.static_resources.listeners.map((l) => l.address.socket_address)).to.deep.equal([
      { address: '127.0.0.1', port_value: 9400 },
      { address: '127.0.0.1', port_value: 9401 },
    ]);
  });

  it('fails closed on authz errors and checks the proxy certificate names the proxy host', () => {
    const text = JSON.stringify(renderSidecarEnvoyBootstrap(input));
    expect(text).to.include('"failure_mode_allow":false');
    expect(text).to.include('"status_on_error":{"code":"ServiceUnavailable"}');
    expect(text).to.include('"match_typed_subject_alt_names":[{"san_type":"DNS","matcher":{"exact":"csm-authorization.example.com"}}]');
    // The CA bundle through file SDS, watched in its own directory, so a re-applied bundle is used live.
    expect(text).to.include(`"path_config_source":{"path":"${path.join(dir, 'proxy-ca.sds.json')}","watched_directory":{"path":"${path.join(dir, 'ca')}"}}`);
    expect(text).to.include('"sni":"csm-authorization.example.com"');
    expect(text).to.include('"host_rewrite_literal":"csm-authorization.example.com:8443"');
  });
});
