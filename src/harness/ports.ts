// Free TCP ports on loopback for the servers a test starts.
import net from 'node:net';
import { waitFor } from './wait.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port (polling with a bounded deadline). */
export function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 20000): Promise<void> {
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  return waitFor(accepts, `something to listen on ${host}:${port}`, timeoutMs, 50);
}
