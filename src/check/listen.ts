// Listening on `host:port` or `unix:/path`, the forms every check server (gRPC and HTTP) accepts.
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';

/** A socket file a previous run left behind is replaced; a regular file of that name is never removed. */
export function removeStaleSocket(address: string): void {
  if (!address.startsWith('unix:')) return;
  const file = address.slice('unix:'.length);
  if (existsSync(file) && lstatSync(file).isSocket()) unlinkSync(file);
}

/** Binds a node:net (or node:http) server; resolves to the bound TCP port (0 for a unix socket). */
export function listenOn(server: Server, address: string): Promise<number> {
  removeStaleSocket(address);
  return new Promise((resolve, rejectListen) => {
    server.once('error', (error) => rejectListen(new Error(`cannot listen on ${address}: ${error.message}`)));
    const done = () => {
      const bound = server.address();
      resolve(typeof bound === 'object' && bound ? bound.port : 0);
    };
    if (address.startsWith('unix:')) server.listen(address.slice('unix:'.length), done);
    else {
      const at = address.lastIndexOf(':');
      server.listen(Number(address.slice(at + 1)), address.slice(0, at).replace(/^\[(.*)\]$/, '$1'), done);
    }
  });
}
