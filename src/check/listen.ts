// Listening on `host:port` or `unix:/path`, the forms every check server (gRPC and HTTP) accepts.
import { existsSync, lstatSync, unlinkSync } from 'node:fs';

/** A socket file a previous run left behind is replaced; a regular file of that name is never removed. */
export function removeStaleSocket(address: string): void {
  if (!address.startsWith('unix:')) return;
  const file = address.slice('unix:'.length);
  if (existsSync(file) && lstatSync(file).isSocket()) unlinkSync(file);
}
