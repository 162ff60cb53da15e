import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { freePort } from '../harness/ports.js';
import { start } from '../harness/process.js';
import { envoyBin } from '../harness/tools.js';
import { waitFor } from '../harness/wait.js';
import { silentLogger } from '../telemetry/log.js';
import { startCertificateRotation } from './certificates.js';
import { parseProxyHost } from './config.js';
import { envoyReady } from './envoyAdmin.js';
import { ACCESS_TOKEN_SECRET, forwardedValues, NO_INJECTED_TOKEN_MESSAGE, renderProxyCaSds, renderSidecarEnvoyBootstrap, TOKEN_CHECK_RUNTIME_KEY, TOKEN_PATH_RUNTIME_LAYER, type SidecarEnvoyInput } from './envoyConfig.js';
import { renderAccessTokenSds, renderTokenPathRuntime, startTokenFeed, type TokenFeed } from './tokenFeed.js';
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

  type Filter = { name: string; typed_config: Record<string, unknown> };
  function connectionManager(bootstrap: Record<string, unknown>) {
    const listener = (bootstrap as { static_resources: { listeners: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[] } }).static_resources.listeners[0]!;
    return listener.filter_chains[0]!.filters[0]!.typed_config as {
      http_filters: Filter[];
      local_reply_config: unknown;
      route_config: { virtual_hosts: { routes: { request_headers_to_remove: string[] }[] }[] };
    };
  }

  it('injects the token from the watched file SDS secret, with the Check after it and on only by the runtime switch', () => {
    const manager = connectionManager(renderSidecarEnvoyBootstrap(input));
    expect(manager.http_filters.map((f) => f.name)).to.deep.equal(['envoy.filters.http.credential_injector', 'envoy.filters.http.ext_authz', 'envoy.filters.http.router']);
    const [injector, check] = manager.http_filters;
    expect(injector!.typed_config).to.deep.include({ overwrite: true, allow_request_without_credential: false });
    expect((injector!.typed_config.credential as { typed_config: unknown }).typed_config).to.deep.equal({
      '@type': 'type.googleapis.com/envoy.extensions.http.injected_credentials.generic.v3.Generic',
      credential: {
        name: ACCESS_TOKEN_SECRET,
        sds_config: { resource_api_version: 'V3', path_config_source: { path: feed.tokenSdsPath, watched_directory: { path: feed.tokenDir } } },
      },
      header: 'Authorization',
      header_value_prefix: 'Bearer ',
    });
    // Until the runtime file is read, every request is asked about (the safe side).
    expect(check!.typed_config.filter_enabled).to.deep.equal({ default_value: { numerator: 100, denominator: 'HUNDRED' }, runtime_key: TOKEN_CHECK_RUNTIME_KEY });
    expect((renderSidecarEnvoyBootstrap(input) as { layered_runtime: unknown }).layered_runtime).to.deep.equal({
      layers: [{
        name: TOKEN_PATH_RUNTIME_LAYER,
        rtds_layer: { name: TOKEN_PATH_RUNTIME_LAYER, rtds_config: { resource_api_version: 'V3', path_config_source: { path: feed.runtimePath, watched_directory: { path: feed.runtimeDir } } } },
      }],
    });
  });

  it("removes the driver's placeholder credentials on the route, whichever way the token came", () => {
    const route = connectionManager(renderSidecarEnvoyBootstrap(input)).route_config.virtual_hosts[0]!.routes[0]!;
    expect(route.request_headers_to_remove).to.deep.equal(['forwarded', 'cookie', 'x-csrf-token', 'proxy-authorization']);
  });

  it("answers the sidecar's 503 with the reason, not the injector's bare 401, when Envoy has no token to inject (real Envoy)", async function () {
    this.timeout(30_000);
    // A token file that holds no secret of the expected name, and the Check switched off: the one
    // arrangement in which the injector itself has nothing to send.
    const broken = path.join(dir, 'broken');
    await mkdir(path.join(broken, 'token'), { recursive: true });
    await mkdir(path.join(broken, 'runtime'), { recursive: true });
    const tokenSdsPath = path.join(broken, 'token', 'token.sds.json');
    await writeFile(tokenSdsPath, renderAccessTokenSds('eyJ.a.b', 1).replace(ACCESS_TOKEN_SECRET, 'some-other-secret'));
    const runtimePath = path.join(broken, 'runtime', 'rtds.json');
    await writeFile(runtimePath, renderTokenPathRuntime(false));
    const [listenPort, adminPort] = [await freePort(), await freePort()];
    const bootstrap = renderSidecarEnvoyBootstrap({
      ...input,
      trust: { kind: 'insecure' },
      proxy: parseProxyHost(`127.0.0.1:${await freePort()}`),
      arrays: [{ systemID: '542a2d5f5122210f', listenPort, intendedEndpoint: 'https://10.0.0.1' }],
      tokenSdsPath, tokenDir: path.dirname(tokenSdsPath), runtimePath, runtimeDir: path.dirname(runtimePath),
      admin: { kind: 'port', port: adminPort },
    });
    const file = path.join(broken, 'envoy.json');
    await writeFile(file, JSON.stringify(bootstrap));
    const envoy = start(envoyBin, ['-c', file, '--log-level', 'error', '--disable-hot-restart']);
    const driver = new Agent({ connect: { rejectUnauthorized: false } });
    try {
      await waitFor(() => envoyReady({ kind: 'port', port: adminPort }), 'Envoy to be ready', 20_000, 50);
      const response = await request(`https://localhost:${listenPort}/api/types/System/instances/`, { dispatcher: driver, headers: { authorization: 'Basic cGxhY2Vob2xkZXI6cGxhY2Vob2xkZXI=' } });
      expect(response.statusCode).to.equal(503);
      expect(response.headers['content-type']).to.equal('application/json');
      expect(await response.body.json()).to.deep.equal({ error: NO_INJECTED_TOKEN_MESSAGE, code: 503 });
    } finally {
      await driver.close();
      await envoy.stop();
    }
  });
});
