// What every fake array serves on: HTTPS on a free loopback port, with a fresh self-signed
// certificate for 127.0.0.1 and localhost that the tests and the demo trust as the array's CA.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { generate } from 'selfsigned';

export interface FakeServer {
  server: Server;
  /** PEM of the certificate (its own CA). */
  ca: string;
}

export async function startFakeServer(commonName: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<FakeServer> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const server = createServer({ cert: pems.cert, key: pems.private }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, ca: pems.cert };
}
