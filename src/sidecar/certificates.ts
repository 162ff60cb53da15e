// The certificate the sidecar serves to the CSI driver on localhost. Generated at start (the driver
// skips verification, as it does with Dell's sidecar), handed to Envoy through a file SDS resource,
// and replaced before it expires. Envoy reloads file SDS on a *move* into the watched directory, so
// each certificate is written to a temporary file and renamed into place.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'selfsigned';
import { writeFileAtomic } from '../cli/atomicWrite.js';
import type { Logger } from '../telemetry/log.js';
import { SERVING_CERT_SECRET } from './envoyConfig.js';

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface CertificateRotationOptions {
  /** Directory Envoy watches; holds only the SDS file (certificate and key inline). */
  dir: string;
  logger: Logger;
  /** Certificate lifetime; default 30 days. */
  validityMs?: number;
  /** Replaced when this fraction of the lifetime has passed; default 2/3. */
  renewAtFraction?: number;
  now?: () => Date;
}

export interface CertificateRotation {
  /** The SDS file to reference from the Envoy bootstrap. */
  sdsPath: string;
  /** The certificate currently on disk. */
  current(): ServingCertificate;
  stop(): void;
}

const DEFAULT_VALIDITY_MS = 30 * 24 * 3600 * 1000;
const DEFAULT_RENEW_AT_FRACTION = 2 / 3;
// setTimeout's ceiling (~24.8 days); longer waits are taken in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;
const RETRY_AFTER_FAILURE_MS = 60_000;

const sdsFileName = 'serving-cert.sds.json';

/** A fresh self-signed EC P-256 certificate for localhost, 127.0.0.1 and ::1. */
export async function generateServingCertificate(notBefore: Date, validityMs: number): Promise<ServingCertificate> {
  const notAfter = new Date(notBefore.getTime() + validityMs);
  const pems = await generate([{ name: 'commonName', value: 'storage-authz-sidecar' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }],
      },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private, notAfter };
}

/** The file SDS resource for a certificate (inline, so one rename swaps certificate and key together). */
function renderCertificateSds(certificate: ServingCertificate): string {
  return JSON.stringify({
    resources: [
      {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
        name: SERVING_CERT_SECRET,
        tls_certificate: {
          certificate_chain: { inline_string: certificate.certPem },
          private_key: { inline_string: certificate.keyPem },
        },
      },
    ],
  });
}

/** Writes the first certificate, then keeps replacing it before expiry until stopped. */
export async function startCertificateRotation(options: CertificateRotationOptions): Promise<CertificateRotation> {
  const validityMs = options.validityMs ?? DEFAULT_VALIDITY_MS;
  const renewAfterMs = validityMs * (options.renewAtFraction ?? DEFAULT_RENEW_AT_FRACTION);
  const now = options.now ?? (() => new Date());
  const sdsPath = path.join(options.dir, sdsFileName);
  await mkdir(options.dir, { recursive: true, mode: 0o700 });

  const install = async (): Promise<ServingCertificate> => {
    const certificate = await generateServingCertificate(now(), validityMs);
    await writeFileAtomic(sdsPath, renderCertificateSds(certificate), 0o600);
    return certificate;
  };

  let current = await install();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => void tick(), Math.min(delayMs, MAX_TIMER_MS));
    timer.unref();
  };
  const renewAt = () => current.notAfter.getTime() - validityMs + renewAfterMs;
  const tick = async () => {
    const remaining = renewAt() - now().getTime();
    if (remaining > 0) return schedule(remaining);
    try {
      current = await install();
      options.logger.info({ notAfter: current.notAfter.toISOString() }, 'sidecar serving certificate replaced');
      schedule(renewAfterMs);
    } catch (error) {
      options.logger.error({ err: error }, 'replacing the sidecar serving certificate failed; retrying in a minute');
      schedule(RETRY_AFTER_FAILURE_MS);
    }
  };
  schedule(renewAfterMs);

  return {
    sdsPath,
    current: () => current,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
