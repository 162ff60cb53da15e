import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { renderEdgeConfig } from '../../src/envoy/edge.js';
import type { StorageSystem } from '../../src/resources/types.js';
import { generateServingCertificate } from '../../src/sidecar/certificates.js';
import { envoyBin } from '../../src/harness/tools.js';
import { withExtAuthzDisabled } from './ext-authz-off.js';

const storage: StorageSystem = {
  name: 'powerflex-1',
  type: 'powerflex',
  systemID: '542a2d5f5122210f',
  endpoint: 'https://127.0.0.1:9443',
  skipCertificateValidation: true,
  credentials: { kind: 'secret', name: 'powerflex-creds' },
};

describe('ext_authz-off twin of an Envoy bootstrap', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ext-authz-off-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const edge = () =>
    renderEdgeConfig({
      listen: { address: '127.0.0.1', port: 18443 },
      tls: { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem') },
      authz: { address: '127.0.0.1:19191' },
      adminApi: { address: '127.0.0.1:18080' },
      storage: [storage],
    });

  it('disables ext_authz on every route and leaves the rest (and the original) as it was', () => {
    const on = edge();
    const before = JSON.stringify(on);
    const off = withExtAuthzDisabled(on);
    expect(JSON.stringify(on)).to.equal(before);
    const text = JSON.stringify(off);
    expect(text.match(/"disabled":true/g)).to.have.length(2); // the /proxy/ route already was; the catch-all now is
    expect(text.replaceAll(/,"typed_per_filter_config":\{[^}]*\}\}/g, '')).to.equal(before.replaceAll(/,"typed_per_filter_config":\{[^}]*\}\}/g, ''));
  });

  it('is a bootstrap the real Envoy accepts', async () => {
    const certificate = await generateServingCertificate(new Date(), 3600_000);
    writeFileSync(path.join(dir, 'cert.pem'), certificate.certPem);
    writeFileSync(path.join(dir, 'key.pem'), certificate.keyPem);
    const file = path.join(dir, 'off.json');
    writeFileSync(file, JSON.stringify(withExtAuthzDisabled(edge())));
    const { stdout } = await promisify(execFile)(envoyBin, ['--mode', 'validate', '-c', file, '--disable-hot-restart']);
    expect(stdout).to.match(/OK/);
  });

  it('refuses a bootstrap without static routes instead of silently disabling nothing', () => {
    expect(() => withExtAuthzDisabled({ static_resources: { listeners: [] } })).to.throw(/no static routes/);
  });
});
