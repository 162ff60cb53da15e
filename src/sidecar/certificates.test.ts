import { expect } from 'chai';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../harness/wait.js';
import { silentLogger } from '../telemetry/log.js';
import { generateServingCertificate, startCertificateRotation, type CertificateRotation } from './certificates.js';
import { SERVING_CERT_SECRET } from './envoyConfig.js';

describe('sidecar serving certificate', () => {
  let dir: string;
  let rotation: CertificateRotation | undefined;
  beforeEach(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-certs-')); });
  afterEach(async () => {
    rotation?.stop();
    rotation = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('is valid for localhost, 127.0.0.1 and ::1 for the requested lifetime, with a matching key', async () => {
    const notBefore = new Date('2030-01-01T00:00:00Z');
    const certificate = await generateServingCertificate(notBefore, 7 * 24 * 3600_000);
    const x509 = new X509Certificate(certificate.certPem);
    expect(x509.subjectAltName).to.equal('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(new Date(x509.validFrom).toISOString()).to.equal('2030-01-01T00:00:00.000Z');
    expect(new Date(x509.validTo).toISOString()).to.equal('2030-01-08T00:00:00.000Z');
    expect(x509.checkPrivateKey(createPrivateKey(certificate.keyPem))).to.equal(true);
  });

  it('writes an Envoy file-SDS secret readable only by its owner, leaving no temporary file', async () => {
    rotation = await startCertificateRotation({ dir, logger: silentLogger });
    const sds = JSON.parse(await readFile(rotation.sdsPath, 'utf8'));
    expect(sds.resources).to.have.length(1);
    expect(sds.resources[0]).to.include({ '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', name: SERVING_CERT_SECRET });
    expect(sds.resources[0].tls_certificate.certificate_chain.inline_string).to.equal(rotation.current().certPem);
    expect(sds.resources[0].tls_certificate.private_key.inline_string).to.equal(rotation.current().keyPem);
    expect((await stat(rotation.sdsPath)).mode & 0o777).to.equal(0o600);
    expect(await readdir(dir)).to.deep.equal([path.basename(rotation.sdsPath)]);
  });

  it('replaces the certificate before it expires', async () => {
    rotation = await startCertificateRotation({ dir, logger: silentLogger, validityMs: 1200, renewAtFraction: 0.5 });
    const first = rotation.current();
    await waitFor(() => rotation!.current() !== first, 'a replaced certificate', 5000);
    const replaced = rotation.current();
    expect(replaced.certPem).to.not.equal(first.certPem);
    const sds = JSON.parse(await readFile(rotation.sdsPath, 'utf8'));
    expect(sds.resources[0].tls_certificate.certificate_chain.inline_string).to.equal(replaced.certPem);
    expect(replaced.notAfter.getTime()).to.be.greaterThan(first.notAfter.getTime());
    // Replaced while the first was still valid: no gap the driver could hit.
    expect(replaced.notAfter.getTime() - 1200).to.be.lessThan(first.notAfter.getTime());
  });
});
