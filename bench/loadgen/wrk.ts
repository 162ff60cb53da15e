// wrk (Debian's package) for throughput ceilings: closed loop, C connections, as fast as the server
// answers. Its own latency figures are not coordinated-omission safe; the fixed-rate percentiles
// come from our open-loop client instead.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REQUEST_NUMBER, type HttpRequestSpec } from './http-client.js';

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
}

export interface WrkOptions {
  url: string;
  /** A list sends the header once per value, each on its own line (see HttpRequestSpec). */
  headers: Record<string, string | string[]>;
  connections: number;
  durationS: number;
  /** CPU list for `taskset`; unpinned when undefined. */
  cpus?: string;
  /** POST this body, `{n}` numbered per request (http-client.ts's template), through a wrk Lua script. */
  body?: string;
}

/** wrk's request for a spec of the open-loop client (wrk checks no certificate; a body makes it a POST). */
export function wrkRequest(spec: Pick<HttpRequestSpec, 'origin' | 'path' | 'headers' | 'body'>): Pick<WrkOptions, 'url' | 'headers' | 'body'> {
  return { url: `${spec.origin}${spec.path}`, headers: spec.headers, ...(spec.body !== undefined && { body: spec.body }) };
}

/**
 * The wrk script that sends each request as the open-loop client does: the whole request written
 * out (wrk's own header table keeps one value per name, and Dell's server needs two `Forwarded`
 * lines), `{n}` in the body and in header values numbered with 7 digits, counting from 1e6 so a
 * ceiling run never repeats a name the fixed-rate runs of the same template used.
 */
export function requestScript(options: Pick<WrkOptions, 'url' | 'headers' | 'body'>): string {
  const url = new URL(options.url);
  const body = options.body ?? '';
  const lines = [
    `${options.body === undefined ? 'GET' : 'POST'} ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    ...Object.entries(options.headers).flatMap(([name, value]) => [value].flat().map((v) => `${name}: ${v}`)),
    // Numbering keeps the length: `{n}` always becomes exactly 7 digits.
    ...(options.body === undefined ? [] : [`Content-Length: ${Buffer.byteLength(body.replaceAll(REQUEST_NUMBER, '0000000'))}`]),
  ];
  const [head, ...rest] = `${lines.join('\r\n')}\r\n\r\n${body}`.split(REQUEST_NUMBER);
  const parts = [head!, ...rest].map((part) => JSON.stringify(part));
  return [
    'local n = 1000000',
    `local parts = {${parts.join(', ')}}`,
    'request = function()',
    '  n = n + 1',
    '  local number = string.format("%07d", n)',
    '  return table.concat(parts, number)',
    'end',
    '',
  ].join('\n');
}

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-wrk-'));
  try {
    const script = path.join(dir, 'request.lua');
    writeFileSync(script, requestScript(options));
    const args = ['-t1', `-c${options.connections}`, `-d${options.durationS}s`, '-s', script, options.url];
    const [file, argv] = options.cpus === undefined ? ['wrk', args] : ['taskset', ['-c', options.cpus, 'wrk', ...args]];
    const { stdout } = await promisify(execFile)(file, argv, { timeout: (options.durationS + 30) * 1000 });
    return parseWrk(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
