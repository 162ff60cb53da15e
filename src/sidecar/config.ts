// Sidecar inputs, in the formats a Dell CSI driver deployment already has: the driver's array list
// (its own secret, or the legacy `karavi-authorization-config`), the proxy host, the plugin identifier
// and the mounted `proxy-authz-tokens` secret. Parsing is pure; `loadSidecarConfig` does the file I/O.
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { UpstreamTrust } from '../envoy/parts.js';
import type { TokenSource } from './tokenHolder.js';

/** What the sidecar sends: a refreshed token pair, or the pod's projected service-account token (kubelet rotates it). */
export type SidecarTokens = TokenSource | { kind: 'service-account'; file: string };

/** One array the driver talks to: the sidecar listens on `listenPort` and forwards for `systemID`. */
export interface SidecarArray {
  systemID: string;
  /** Port of the driver's `endpoint` (https://localhost:<port>). */
  listenPort: number;
  /** Sent in `Forwarded: for=csm-authorization;<intendedEndpoint>;<systemID>`. */
  intendedEndpoint: string;
}

/** Where the edge is: `PROXY_HOST` split into what TLS (SNI), TCP and the Host header need. */
export interface ProxyHost {
  /** Host name or IP address (no brackets), used for DNS, SNI and certificate name checks. */
  hostname: string;
  port: number;
  /** The `PROXY_HOST` value verbatim: the Host header Dell's sidecar sends. */
  authority: string;
}

/** How the proxy's certificate is checked (a CA bundle and its host name, or not at all). */
export type ProxyTrust = UpstreamTrust;

export interface SidecarConfig {
  /** `PLUGIN_IDENTIFIER` verbatim (sent in `Forwarded: by=`). */
  plugin: string;
  proxy: ProxyHost;
  trust: ProxyTrust;
  arrays: SidecarArray[];
  /** The driver-config file the arrays were read from (the first path, or the fallback). */
  driverConfigFile: string;
  /** The token pair (files or environment), or the pod's projected service-account token. */
  tokens: SidecarTokens;
}

/** The command-line / environment options the configuration is read from. */
export interface SidecarConfigOptions {
  proxyHost: string;
  plugin: string;
  driverConfigFile: string;
  /** Read instead when `driverConfigFile` does not exist (Dell: the driver's own secret when `karavi-authorization-config` is absent). */
  driverConfigFallback?: string;
  /** The mounted `proxy-authz-tokens` secret (files `access`, `refresh`); or `environmentTokens`. */
  tokensDir?: string;
  /** `ACCESS_TOKEN`/`REFRESH_TOKEN` as Dell's driver charts set them. */
  environmentTokens?: { accessToken: string; refreshToken: string };
  /** `--identity serviceaccount` (its `--token-file`): the projected token is sent instead of a pair. */
  serviceAccountTokenFile?: string;
  caFile?: string;
  insecure?: boolean;
}

/** A configuration problem, naming the file or option and field at fault. */
export class SidecarConfigError extends Error {
  override name = 'SidecarConfigError';
}


// Every identifier Dell's server normalises to an array type (reference §1.4), plus v2's powerstore.
/**
 * Where Dell's driver charts mount the driver's own array secret in the authorization container
 * (`/<volume name>`), used when `karavi-authorization-config` is absent (operator config v2.4.0+).
 */
const DRIVER_SECRET_MOUNTS: Readonly<Record<string, string>> = {
  powerflex: '/vxflexos-config/config', 'csi-vxflexos': '/vxflexos-config/config', vxflexos: '/vxflexos-config/config',
  powermax: '/powermax-reverseproxy-secret/config', 'csi-powermax': '/powermax-reverseproxy-secret/config',
  powerscale: '/isilon-configs/config', 'csi-powerscale': '/isilon-configs/config', isilon: '/isilon-configs/config',
  powerstore: '/powerstore-config/config', 'csi-powerstore': '/powerstore-config/config',
};

/** The driver's own secret for a (valid) plugin identifier. */
export function driverSecretMount(plugin: string): string {
  return DRIVER_SECRET_MOUNTS[parsePlugin(plugin)]!;
}

export function parsePlugin(value: string): string {
  const plugin = value.trim();
  if (!Object.hasOwn(DRIVER_SECRET_MOUNTS, plugin)) {
    throw new SidecarConfigError(
      `plugin identifier "${plugin}" is not one of ${Object.keys(DRIVER_SECRET_MOUNTS).join(', ')}`,
    );
  }
  return plugin;
}

/** `PROXY_HOST` is host[:port], always reached over HTTPS (port 443 when absent). */
export function parseProxyHost(value: string): ProxyHost {
  const authority = value.trim();
  let url: URL | undefined;
  if (authority && !/[/@?#\s]/.test(authority)) {
    try {
      url = new URL(`https://${authority}`);
    } catch {
      url = undefined;
    }
  }
  if (!url) throw new SidecarConfigError(`proxy host "${authority}" is not host[:port] (no scheme, path or credentials)`);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { hostname, port: url.port ? Number(url.port) : 443, authority };
}

/**
 * Parses the driver's array list. Accepted shapes (YAML or JSON):
 * - a top-level list of `{endpoint, systemID, intendedEndpoint?}` (PowerFlex driver secret, legacy
 *   `karavi-authorization-config`); `username`, `password`, `insecure`, `skipCertificateValidation`,
 *   `isDefault` are the driver's placeholders and are ignored;
 * - `{arrays: [{endpoint, globalID}]}` (PowerStore driver secret);
 * - `{isilonClusters: [{endpoint, endpointPort?, clusterName}]}` (PowerScale driver secret).
 * Without `intendedEndpoint` the `endpoint` is sent as the intended endpoint: the edge routes by
 * systemID only (reference §1.4), so the value is informational.
 */
export function parseDriverConfig(text: string, source: string): SidecarArray[] {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new SidecarConfigError(`${source}: not valid YAML/JSON: ${(error as Error).message}`);
  }
  const { entries, idField, listName } = locateEntries(document, source);
  if (entries.length === 0) throw new SidecarConfigError(`${source}: ${listName} lists no arrays`);

  const arrays = entries.map((entry, index) => parseEntry(entry, `${source}: ${listName}[${index}]`, idField));
  const seen = new Map<number, string>();
  for (const array of arrays) {
    const previous = seen.get(array.listenPort);
    if (previous !== undefined) {
      throw new SidecarConfigError(
        `${source}: arrays ${previous} and ${array.systemID} both use local port ${array.listenPort}`,
      );
    }
    seen.set(array.listenPort, array.systemID);
  }
  return arrays;
}

function locateEntries(document: unknown, source: string): { entries: unknown[]; idField: string; listName: string } {
  if (Array.isArray(document)) return { entries: document, idField: 'systemID', listName: 'list' };
  if (isRecord(document)) {
    if (Array.isArray(document.arrays)) return { entries: document.arrays, idField: 'globalID', listName: 'arrays' };
    if (Array.isArray(document.isilonClusters)) {
      return { entries: document.isilonClusters, idField: 'clusterName', listName: 'isilonClusters' };
    }
  }
  throw new SidecarConfigError(`${source}: expected a list of arrays, or an object with "arrays" or "isilonClusters"`);
}

function parseEntry(entry: unknown, where: string, idField: string): SidecarArray {
  if (!isRecord(entry)) throw new SidecarConfigError(`${where}: expected an object`);
  const systemID = entry[idField];
  if (typeof systemID !== 'string' || systemID.trim() === '') {
    throw new SidecarConfigError(`${where}: "${idField}" is required`);
  }
  const endpoint = entry.endpoint;
  if (typeof endpoint !== 'string' || endpoint.trim() === '') {
    throw new SidecarConfigError(`${where}: "endpoint" is required`);
  }
  const listenPort = localPort(endpoint.trim(), entry.endpointPort, where);
  const intended = entry.intendedEndpoint;
  if (intended !== undefined && (typeof intended !== 'string' || intended.trim() === '')) {
    throw new SidecarConfigError(`${where}: "intendedEndpoint" must be a non-empty string`);
  }
  return { systemID: systemID.trim(), listenPort, intendedEndpoint: (intended ?? endpoint).trim() };
}

// The driver is pointed at https://localhost:<port>; PowerScale writes the host and port separately.
function localPort(endpoint: string, endpointPort: unknown, where: string): number {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new SidecarConfigError(`${where}: "endpoint" ${JSON.stringify(endpoint)} is not a URL`);
  }
  if (url.protocol !== 'https:') {
    throw new SidecarConfigError(`${where}: "endpoint" must be https://localhost:<port>, got ${JSON.stringify(endpoint)}`);
  }
  const rawPort = url.port || (endpointPort === undefined ? '443' : String(endpointPort));
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SidecarConfigError(`${where}: port ${JSON.stringify(rawPort)} is not a TCP port`);
  }
  return port;
}

/** Reads every input file; any problem is a SidecarConfigError naming the file and field. */
export async function loadSidecarConfig(options: SidecarConfigOptions): Promise<SidecarConfig> {
  const plugin = parsePlugin(options.plugin);
  const proxy = parseProxyHost(options.proxyHost);
  if (options.insecure && options.caFile) {
    throw new SidecarConfigError('give either a CA bundle file or insecure (skip certificate validation), not both');
  }
  let trust: ProxyTrust;
  if (options.insecure) {
    trust = { kind: 'insecure' };
  } else {
    if (!options.caFile) {
      throw new SidecarConfigError('a CA bundle file for the proxy is required unless certificate validation is skipped');
    }
    const caFile = path.resolve(options.caFile);
    const pem = await readText(caFile, 'CA bundle');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new SidecarConfigError(`CA bundle ${caFile}: contains no PEM certificate`);
    }
    trust = { kind: 'ca-bundle', caFile };
  }
  let tokens: SidecarTokens;
  if (options.serviceAccountTokenFile !== undefined) {
    if (options.tokensDir !== undefined || options.environmentTokens) {
      throw new SidecarConfigError('--identity serviceaccount sends the projected service-account token: give no token pair (--tokens-dir, ACCESS_TOKEN/REFRESH_TOKEN) with it');
    }
    tokens = { kind: 'service-account', file: path.resolve(options.serviceAccountTokenFile) };
  } else if (options.tokensDir !== undefined && options.environmentTokens) {
    throw new SidecarConfigError('give the tokens either as a directory (--tokens-dir) or as ACCESS_TOKEN/REFRESH_TOKEN, not both');
  } else if (options.environmentTokens) {
    tokens = { kind: 'environment', ...options.environmentTokens };
  } else if (options.tokensDir !== undefined) {
    tokens = { kind: 'files', dir: path.resolve(options.tokensDir) };
  } else {
    throw new SidecarConfigError('no tokens: set ACCESS_TOKEN and REFRESH_TOKEN (secret proxy-authz-tokens, keys access and refresh) or mount that secret and give --tokens-dir');
  }
  const driverConfigFile = await firstExisting(path.resolve(options.driverConfigFile), options.driverConfigFallback && path.resolve(options.driverConfigFallback));
  const arrays = parseDriverConfig(await readText(driverConfigFile, 'driver config'), driverConfigFile);
  return { plugin, proxy, trust, arrays, driverConfigFile, tokens };
}

/** `primary` when it exists, else `fallback` (when given); a missing file then names both. */
async function firstExisting(primary: string, fallback: string | undefined): Promise<string> {
  if (!fallback) return primary;
  try {
    await access(primary);
    return primary;
  } catch {
    try {
      await access(fallback);
      return fallback;
    } catch {
      throw new SidecarConfigError(`driver config: neither ${primary} (secret karavi-authorization-config) nor ${fallback} (the driver's own secret) exists`);
    }
  }
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new SidecarConfigError(`${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
