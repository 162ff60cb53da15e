// Dell's refresh call (reference §1.2): POST https://<PROXY_HOST>/proxy/refresh-token/ with
// {"refreshToken","accessToken"} and no Authorization header; 200 {"accessToken"} on success.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import type { ProxyHost, ProxyTrust } from './config.js';
import type { Refresher, RefreshOutcome } from './tokenHolder.js';

const REFRESH_PATH = '/proxy/refresh-token/';
const TIMEOUT_MS = 10_000;
// A refresh answer is a few hundred bytes; anything far larger is not one.
const MAX_RESPONSE_BYTES = 64 * 1024;

export function createProxyRefresher(proxy: ProxyHost, trust: ProxyTrust): Refresher {
  return async (pair) => {
    // Re-read per call: a rotated CA bundle (mounted secret) is used without a restart.
    const ca = trust.kind === 'ca-bundle' ? await readFile(trust.caFile, 'utf8') : undefined;
    const agent = new Agent({
      connect: {
        ...(ca ? { ca } : {}),
        rejectUnauthorized: trust.kind === 'ca-bundle',
        ...(isIP(proxy.hostname) ? {} : { servername: proxy.hostname }),
      },
      connectTimeout: TIMEOUT_MS,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    try {
      const response = await request(`https://${proxy.authority}${REFRESH_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: pair.refreshToken, accessToken: pair.accessToken }),
        dispatcher: agent,
      });
      const text = await readBounded(response.body);
      return interpret(response.statusCode, text);
    } finally {
      await agent.close();
    }
  };
}

/** Our server answers refusals as {error, code, reason}; Dell's as plain text with status 500. */
export function interpret(status: number, text: string): RefreshOutcome {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const fields = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  if (status === 200) {
    if (typeof fields.accessToken === 'string' && fields.accessToken !== '') {
      return { kind: 'refreshed', accessToken: fields.accessToken };
    }
    return { kind: 'refused', status, message: 'the refresh answer carries no accessToken' };
  }
  const message = typeof fields.error === 'string' ? fields.error : text.trim().slice(0, 200) || `HTTP ${status}`;
  if (typeof fields.reason === 'string') return { kind: 'refused', status, reason: fields.reason, message };
  // Dell's server (§2.4) refuses any refresh before the access token's `exp` with a plain-text 500
  // (`rpc error: code = Unknown desc = access token was valid`): the same refusal as ours, by name.
  if (status === 500 && DELL_STILL_VALID.test(text)) return { kind: 'refused', status, reason: 'access-token-still-valid', message };
  return { kind: 'refused', status, message };
}

const DELL_STILL_VALID = /\baccess token was valid\b/;

async function readBounded(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) throw new Error(`refresh answer larger than ${MAX_RESPONSE_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
