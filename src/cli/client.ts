// authzctl's client for the admin API: HTTPS by default (verifying the server with the system CAs or
// --ca; --insecure only when asked), the admin token read from a file, and Dell's refresh dance — on
// a 401 the access token is refreshed once through /proxy/refresh-admin/ and the call retried.
// With a tenant's token pair instead (--tenant-token, the proxy-authz-tokens Secret), the same
// client reads that tenant's own volumes and usage, refreshing through /proxy/refresh-token/.
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import { parse } from 'yaml';
import { CliError } from './errors.js';

export interface ConnectionOptions {
  /** host[:port], or a URL with an explicit scheme (http:// only for a local, unprotected listener). */
  addr?: string;
  adminToken?: string;
  /** A tenant's token pair (the proxy-authz-tokens Secret): only the tenant-facing reads accept it. */
  tenantToken?: string;
  ca?: string;
  insecure?: boolean;
}

export interface AdminTokenPair {
  access: string;
  refresh: string;
}

/** An admin token file as `authzctl admin token` (YAML) or dellctl (JSON `{"Access","Refresh"}`) writes it. */
export async function readAdminTokenFile(file: string): Promise<AdminTokenPair> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read admin token file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    throw new CliError(`admin token file ${file} is not YAML or JSON with "access" and "refresh"`);
  }
  const fields = typeof doc === 'object' && doc !== null ? Object.fromEntries(Object.entries(doc).map(([k, v]) => [k.toLowerCase(), v])) : {};
  const { access, refresh } = fields as Record<string, unknown>;
  if (typeof access !== 'string' || typeof refresh !== 'string' || !access || !refresh) {
    throw new CliError(`admin token file ${file} has no "access" and "refresh" tokens (create it with: authzctl admin token > ${file})`);
  }
  return { access, refresh };
}

/**
 * A tenant's pair: the proxy-authz-tokens Secret as `authzctl generate token` prints it (`data`
 * base64, or `stringData`), or a YAML/JSON map with `access` and `refresh`.
 */
export async function readTenantTokenFile(file: string): Promise<AdminTokenPair> {
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(code ? `cannot read tenant token file ${file}: ${code}` : `tenant token file ${file} is not YAML or JSON`);
  }
  const record = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {});
  const secret = record(doc);
  const data = record(secret.data);
  const decoded = (value: unknown) => (typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8').trim() : undefined);
  const fields = typeof data.access === 'string' ? { access: decoded(data.access), refresh: decoded(data.refresh) } : { ...secret, ...record(secret.stringData) };
  const { access, refresh } = fields as Record<string, unknown>;
  if (typeof access !== 'string' || typeof refresh !== 'string' || !access || !refresh) {
    throw new CliError(`tenant token file ${file} has no "access" and "refresh" tokens (use the proxy-authz-tokens Secret from "authzctl generate token")`);
  }
  return { access, refresh };
}

export function baseUrl(addr: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(addr) ? addr : `https://${addr}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(`--addr "${addr}" is not host[:port] or a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new CliError(`--addr "${addr}": only https:// (or http:// for a local listener) is supported`);
  return url;
}

export class AdminClient {
  private access: string;

  private constructor(
    private readonly base: URL,
    private readonly tokens: AdminTokenPair,
    private readonly agent: Agent,
    private readonly holder: 'admin' | 'tenant',
  ) {
    this.access = tokens.access;
  }

  static async connect(options: ConnectionOptions): Promise<AdminClient> {
    if (!options.addr) throw new CliError('--addr is required: the address of the storage-authz admin API (host:port)');
    if (options.adminToken && options.tenantToken) throw new CliError('--admin-token and --tenant-token contradict each other; use one');
    if (!options.adminToken && !options.tenantToken) throw new CliError('--admin-token is required: the file written by "authzctl admin token"');
    if (options.ca && options.insecure) throw new CliError('--ca and --insecure contradict each other; use one');
    const base = baseUrl(options.addr);
    const tokens = options.adminToken ? await readAdminTokenFile(options.adminToken) : await readTenantTokenFile(options.tenantToken!);
    let ca: Buffer | undefined;
    if (options.ca) {
      try {
        ca = await readFile(options.ca);
      } catch (error) {
        throw new CliError(`cannot read --ca file ${options.ca}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
    }
    const agent = new Agent({ connect: { ca, rejectUnauthorized: !options.insecure, minVersion: 'TLSv1.2' } });
    return new AdminClient(base, tokens, agent, options.adminToken ? 'admin' : 'tenant');
  }

  /** Calls the admin API and returns the parsed JSON body; a non-2xx answer becomes a CliError with the server's reason. */
  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let reply = await this.send(method, path, this.access, body);
    if (reply.status === 401) {
      await this.refreshAccess();
      reply = await this.send(method, path, this.access, body);
    }
    if (reply.status < 200 || reply.status > 299) throw new CliError(describeFailure(reply));
    return reply.body;
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async refreshAccess(): Promise<void> {
    if (this.holder === 'tenant') return this.refreshTenantAccess();
    const reply = await this.send('POST', '/proxy/refresh-admin/', this.tokens.refresh, { Access: this.access, Refresh: this.tokens.refresh });
    if (reply.status !== 200) {
      throw new CliError(`${describeFailure(reply)}; the admin token could not be refreshed — create a new one with "authzctl admin token"`);
    }
    const token = (reply.body as { AccessToken?: unknown } | undefined)?.AccessToken;
    if (typeof token !== 'string') throw new CliError('admin API answered the token refresh without an AccessToken');
    this.access = token;
  }

  /** Dell's tenant refresh (reference §2.4): the pair in the body, no Authorization header. */
  private async refreshTenantAccess(): Promise<void> {
    const reply = await this.send('POST', '/proxy/refresh-token/', undefined, { refreshToken: this.tokens.refresh, accessToken: this.access });
    const token = (reply.body as { accessToken?: unknown } | undefined)?.accessToken;
    if (reply.status !== 200 || typeof token !== 'string') {
      throw new CliError(`${describeFailure(reply)}; the tenant token could not be refreshed — ask the storage admin for a new token pair`);
    }
    this.access = token;
  }

  private async send(method: string, path: string, bearer: string | undefined, body: unknown): Promise<{ status: number; body: unknown }> {
    const url = new URL(path, this.base);
    let response;
    try {
      response = await request(url, {
        method,
        dispatcher: this.agent,
        headers: { ...(bearer !== undefined && { authorization: `Bearer ${bearer}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new CliError(connectionFailure(this.base, error));
    }
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      // Not JSON (a proxy's HTML error page, say): keep the text for the error message.
    }
    return { status: response.statusCode, body: parsed };
  }
}

function describeFailure(reply: { status: number; body: unknown }): string {
  const reason = (reply.body as { error?: unknown } | undefined)?.error;
  const detail = typeof reason === 'string' ? reason : typeof reply.body === 'string' ? reply.body.slice(0, 200).trim() : 'no details';
  return `admin API answered ${reply.status}: ${detail}`;
}

function connectionFailure(base: URL, error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  const code = err.code ?? '';
  const where = `admin API at ${base.origin}`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i.test(code) || /certificate/i.test(err.message)) {
    return `cannot verify the TLS certificate of the ${where} (${code || err.message}); pass the CA with --ca <file> (or --insecure to skip verification)`;
  }
  return `cannot reach the ${where}: ${code || err.message}`;
}
