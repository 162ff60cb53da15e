// wrk (Debian's package) for throughput ceilings: closed loop, C connections, as fast as the server
// answers. Its own latency figures are not coordinated-omission safe; the fixed-rate percentiles
// come from our open-loop client instead.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
}

export interface WrkOptions {
  url: string;
  headers: Record<string, string>;
  connections: number;
  durationS: number;
  /** CPU list for `taskset`; unpinned when undefined. */
  cpus?: string;
}

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.durationS}s`, ...Object.entries(options.headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]), options.url];
  const [file, argv] = options.cpus === undefined ? ['wrk', args] : ['taskset', ['-c', options.cpus, 'wrk', ...args]];
  const { stdout } = await promisify(execFile)(file, argv, { timeout: (options.durationS + 30) * 1000 });
  return parseWrk(stdout);
}

/** Reads wrk's summary: `N requests in …`, `Requests/sec: X`, and the error lines when present. */
export function parseWrk(output: string): WrkResult {
  const number = (pattern: RegExp): number | undefined => {
    const match = pattern.exec(output);
    return match ? Number(match[1]) : undefined;
  };
  const requestsPerSecond = number(/^Requests\/sec:\s+([\d.]+)/m);
  const requests = number(/^\s*(\d+) requests in /m);
  if (requestsPerSecond === undefined || requests === undefined) throw new Error(`unreadable wrk output:\n${output.slice(0, 1000)}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requestsPerSecond,
    requests,
    non2xx: number(/Non-2xx or 3xx responses: (\d+)/) ?? 0,
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}
