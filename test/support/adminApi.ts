// The admin API over HTTPS in this process, for the admin API and authzctl tests: the real handler,
// token verifier, signing keys and ledger. Every byte it answers is kept, so a test can prove that no
// response ever carried a secret.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAdminHandler, type AdminDeps } from '../../src/admin/handler.js';
import { generateServingCertificate } from '../../src/sidecar/certificates.js';

export interface RunningAdminApi {
  /** https://127.0.0.1:<port> */
  url: string;
  /** host:port, as authzctl --addr takes it. */
  addr: string;
  /** PEM of the server's self-signed certificate (its own CA). */
  caPem: string;
  /** Every response body sent so far, in order. */
  responses(): string[];
  close(): Promise<void>;
}

export async function startAdminApi(deps: AdminDeps): Promise<RunningAdminApi> {
  const certificate = await generateServingCertificate(new Date(Date.now() - 60_000), 3600_000);
  const handler = createAdminHandler(deps);
  const responses: string[] = [];
  const server = https.createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    const write = res.write.bind(res);
    const end = res.end.bind(res);
    res.write = ((chunk: unknown, ...rest: never[]) => {
      if (chunk) chunks.push(Buffer.from(chunk as string));
      return write(chunk as string, ...rest);
    }) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: never[]) => {
      if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as string));
      responses.push(Buffer.concat(chunks).toString('utf8'));
      return end(chunk as string, ...rest);
    }) as typeof res.end;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    addr: `127.0.0.1:${port}`,
    caPem: certificate.certPem,
    responses: () => [...responses],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
