import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  driverSecretMount,
  loadSidecarConfig,
  parseDriverConfig,
  parsePlugin,
  parseProxyHost,
  SidecarConfigError,
} from './config.js';

describe('sidecar config', () => {
  describe('parseDriverConfig', () => {
    it('reads the PowerFlex driver secret (YAML), ignoring placeholder credentials', () => {
      const arrays = parseDriverConfig(
        [
          '- username: ignored',
          '  password: ignored',
          '  systemID: 542a2d5f5122210f',
          '  endpoint: https://localhost:9400',
          '  skipCertificateValidation: true',
          '  isDefault: true',
          '- username: ignored',
          '  password: ignored',
          '  systemID: 7b0d7b6f6c6e5a01',
          '  endpoint: https://localhost:9401',
        ].join('\n'),
        'config',
      );
      expect(arrays).to.deep.equal([
        { systemID: '542a2d5f5122210f', listenPort: 9400, intendedEndpoint: 'https://localhost:9400' },
        { systemID: '7b0d7b6f6c6e5a01', listenPort: 9401, intendedEndpoint: 'https://localhost:9401' },
      ]);
    });

    it('reads the legacy karavi-authorization-config JSON with intendedEndpoint', () => {
      const arrays = parseDriverConfig(
        JSON.stringify([
          {
            username: '', password: '', intendedEndpoint: 'https://10.0.0.1',
            endpoint: 'https://localhost:9400', systemID: '542a2d5f5122210f', insecure: true, isDefault: true,
          },
        ]),
        'config',
      );
      expect(arrays).to.deep.equal([
        { systemID: '542a2d5f5122210f', listenPort: 9400, intendedEndpoint: 'https://10.0.0.1' },
      ]);
    });

    it('reads PowerStore (arrays/globalID) and PowerScale (isilonClusters/clusterName) secrets', () => {
      expect(parseDriverConfig('arrays:\n- endpoint: https://localhost:9402/api/rest\n  globalID: PS0001\n', 's'))
        .to.deep.equal([{ systemID: 'PS0001', listenPort: 9402, intendedEndpoint: 'https://localhost:9402/api/rest' }]);
      expect(parseDriverConfig('isilonClusters:\n- clusterName: cluster1\n  endpoint: localhost\n  endpointPort: 9403\n', 's'))
        .to.deep.equal([{ systemID: 'cluster1', listenPort: 9403, intendedEndpoint: 'localhost' }]);
    });

    it('names the file and entry at fault', () => {
      expect(() => parseDriverConfig('- endpoint: https://localhost:9400\n', '/cfg/config'))
        .to.throw(SidecarConfigError, '/cfg/config: list[0]: "systemID" is required');
      expect(() => parseDriverConfig('- systemID: a\n', '/cfg/config'))
        .to.throw(SidecarConfigError, '/cfg/config: list[0]: "endpoint" is required');
      expect(() => parseDriverConfig('- systemID: a\n  endpoint: http://localhost:9400\n', 'f'))
        .to.throw(SidecarConfigError, 'must be https://localhost:<port>');
      expect(() => parseDriverConfig('- systemID: a\n  endpoint: https://localhost:99999\n', 'f'))
        .to.throw(SidecarConfigError, 'f: list[0]: "endpoint"');
      expect(() => parseDriverConfig('[]', 'f')).to.throw(SidecarConfigError, 'lists no arrays');
      expect(() => parseDriverConfig('storage: {}', 'f')).to.throw(SidecarConfigError, 'expected a list of arrays');
      expect(() => parseDriverConfig('- [', 'f')).to.throw(SidecarConfigError, 'f: not valid YAML/JSON');
    });

    it('refuses two arrays on one local port', () => {
      const text = '- {systemID: a, endpoint: "https://localhost:9400"}\n- {systemID: b, endpoint: "https://localhost:9400"}\n';
      expect(() => parseDriverConfig(text, 'f')).to.throw(SidecarConfigError, 'arrays a and b both use local port 9400');
    });
  });

  describe('parseProxyHost', () => {
    it('splits host[:port], defaulting to 443 and keeping the value for the Host header', () => {
      expect(parseProxyHost('csm-authorization.com')).to.deep.equal({
        hostname: 'csm-authorization.com', port: 443, authority: 'csm-authorization.com',
      });
      expect(parseProxyHost('edge.ns.svc:8443')).to.deep.equal({ hostname: 'edge.ns.svc', port: 8443, authority: 'edge.ns.svc:8443' });
      expect(parseProxyHost('[::1]:8443')).to.deep.equal({ hostname: '::1', port: 8443, authority: '[::1]:8443' });
    });

    it('rejects a scheme, a path or credentials', () => {
      for (const bad of ['https://edge', 'edge/proxy', 'user@edge', '', 'edge:notaport']) {
        expect(() => parseProxyHost(bad), bad).to.throw(SidecarConfigError, 'is not host[:port]');
      }
    });
  });

  it('accepts the plugin identifiers Dell drivers send and rejects others', () => {
    expect(parsePlugin('powerflex')).to.equal('powerflex');
    expect(parsePlugin('csi-vxflexos')).to.equal('csi-vxflexos');
    expect(() => parsePlugin('unity')).to.throw(SidecarConfigError, 'plugin identifier "unity"');
  });

  describe('loadSidecarConfig', () => {
    let dir: string;
    beforeEach(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-config-')); });
    afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

    it('loads every input, resolving paths', async () => {
      await writeFile(path.join(dir, 'config'), '- {systemID: a, endpoint: "https://localhost:9400"}\n');
      await writeFile(path.join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n');
      const config = await loadSidecarConfig({
        proxyHost: 'edge:8443', plugin: 'powerflex', driverConfigFile: path.join(dir, 'config'),
        tokensDir: path.join(dir, 'tokens'), caFile: path.join(dir, 'ca.pem'),
      });
      expect(config.trust).to.deep.equal({ kind: 'ca-bundle', caFile: path.join(dir, 'ca.pem') });
      expect(config.arrays).to.have.length(1);
      expect(config.proxy.port).to.equal(8443);
    });

    it("falls back to the driver's own secret when karavi-authorization-config is not mounted, and names both when neither is", async () => {
      await writeFile(path.join(dir, 'driver-secret'), '- {systemID: b, endpoint: "https://localhost:9401", username: x, password: y}\n');
      const base = { proxyHost: 'edge', plugin: 'powerflex', insecure: true, environmentTokens: { accessToken: 'a', refreshToken: 'r' } };
      const config = await loadSidecarConfig({ ...base, driverConfigFile: path.join(dir, 'absent'), driverConfigFallback: path.join(dir, 'driver-secret') });
      expect(config.driverConfigFile).to.equal(path.join(dir, 'driver-secret'));
      expect(config.arrays.map((a) => a.systemID)).to.deep.equal(['b']);
      expect(config.tokens).to.deep.equal({ kind: 'environment', accessToken: 'a', refreshToken: 'r' });
      await expectRejects(
        loadSidecarConfig({ ...base, driverConfigFile: path.join(dir, 'absent'), driverConfigFallback: path.join(dir, 'also-absent') }),
        `driver config: neither ${path.join(dir, 'absent')} (secret karavi-authorization-config) nor ${path.join(dir, 'also-absent')} (the driver's own secret) exists`,
      );
    });

    it('maps each plugin to the mount of its driver secret in Dell\'s charts', () => {
      expect(driverSecretMount('powerflex')).to.equal('/vxflexos-config/config');
      expect(driverSecretMount('isilon')).to.equal('/isilon-configs/config');
      expect(driverSecretMount('csi-powerstore')).to.equal('/powerstore-config/config');
      expect(driverSecretMount('powermax')).to.equal('/powermax-reverseproxy-secret/config');
    });

    it('needs tokens from exactly one place', async () => {
      await writeFile(path.join(dir, 'config'), '- {systemID: a, endpoint: "https://localhost:9400"}\n');
      const base = { proxyHost: 'edge', plugin: 'powerflex', insecure: true, driverConfigFile: path.join(dir, 'config') };
      await expectRejects(loadSidecarConfig(base), 'no tokens: set ACCESS_TOKEN and REFRESH_TOKEN');
      await expectRejects(loadSidecarConfig({ ...base, tokensDir: dir, environmentTokens: { accessToken: 'a', refreshToken: 'r' } }), 'not both');
    });

    it('requires exactly one of a CA bundle or insecure, and names a missing file', async () => {
      await writeFile(path.join(dir, 'config'), '- {systemID: a, endpoint: "https://localhost:9400"}\n');
      const base = { proxyHost: 'edge', plugin: 'powerflex', driverConfigFile: path.join(dir, 'config'), tokensDir: dir };
      await expectRejects(loadSidecarConfig(base), 'CA bundle file for the proxy is required');
      await expectRejects(loadSidecarConfig({ ...base, insecure: true, caFile: 'x' }), 'not both');
      await expectRejects(loadSidecarConfig({ ...base, caFile: path.join(dir, 'none.pem') }), `CA bundle ${path.join(dir, 'none.pem')}: ENOENT`);
      await writeFile(path.join(dir, 'empty.pem'), '');
      await expectRejects(loadSidecarConfig({ ...base, caFile: path.join(dir, 'empty.pem') }), 'contains no PEM certificate');
      await expectRejects(
        loadSidecarConfig({ ...base, insecure: true, driverConfigFile: path.join(dir, 'missing') }),
        `driver config ${path.join(dir, 'missing')}: ENOENT`,
      );
    });
  });
});

async function expectRejects(promise: Promise<unknown>, message: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(SidecarConfigError);
    expect((error as Error).message).to.include(message);
    return;
  }
  expect.fail(`expected rejection with "${message}"`);
}
