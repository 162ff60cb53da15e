// Configuration of `storage-authz serve`: a YAML/JSON file and/or flags (flags win), validated into
// one typed object with errors that name the option at fault.
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_ROUTE_TIMEOUT_MS } from '../envoy/edge.js';
import { DEFAULT_EARLY_REFRESH_WINDOW_SECONDS, DEFAULT_REFRESHED_ACCESS_TTL_SECONDS } from '../tokens/refresh.js';
import { DEFAULT_ACCEPTED_AUDIENCES, DEFAULT_ACCEPTED_ISSUERS, DEFAULT_MAX_ACCESS_TTL_SECONDS, DEFAULT_TENANT_SUBJECTS } from '../tokens/verify.js';

export type LedgerConfig =
  | { kind: 'memory' }
  | { kind: 'redis'; url: string; passwordFile?: string }
  | { kind: 'sentinel'; sentinels: { host: string; port: number }[]; name: string; passwordFile?: string };

/** Where CSMTenant/CSMRole/Storage objects and array credentials come from. */
export type ResourcesConfig =
  | {
      kind: 'directory';
      dir: string;
      /** Where Storage credential volumes are mounted (`<dir>/<secret name>/{username,password}`). */
      secretsDir: string;
    }
  | {
      kind: 'kubernetes';
      namespace: string;
      /** In-cluster when unset (and no KUBECONFIG). */
      kubeconfig?: string;
      /** SecretProviderClass volumes only; Secrets are read from the API. */
      secretsDir?: string;
      leaseName: string;
      /** This replica's name in the Lease. */
      identity: string;
    };

export interface ServeConfig {
  /** Check / health / access-log gRPC server: `host:port` or `unix:/path`. */
  listen: string;
  /**
   * Check over HTTP/1.1 for ext_authz's http_service (`host:port` or `unix:/path`; render-edge-config
   * --authz-http): cheaper per request than the gRPC Check. Off when unset; `listen` still serves
   * health and the access log.
   */
  httpCheckListen?: string;
  /** Admin HTTP API (`host:port`); off when unset. */
  adminListen?: string;
  /** grpc.health.v1 only (`host:port`), for kubelet `grpc:` probes while Check stays on a unix socket; off when unset. */
  healthListen?: string;
  /** GET /metrics only, for a scraper outside the pod (the admin listener also has it). */
  metricsListen?: string;
  resources: ResourcesConfig;
  signingKeysDir: string;
  defaultKid: string;
  /** Accepted `iss`/`aud`; the first of each goes into the tokens this service mints. */
  issuers: string[];
  audiences: string[];
  /** `sub` values accepted on the data path and the tenant refresh. */
  tenantSubjects: string[];
  /** The longest access-token lifetime in use: an unmarked (Dell-minted) token living longer is a refresh token. */
  maxAccessTtlSeconds: number;
  ledger: LedgerConfig;
  /** Compiled policy bundle; the committed policies/build/policy.wasm when unset. */
  policyWasm?: string;
  /** Extra CA certificates (PEM file) trusted for array TLS, besides the system store. */
  arrayCaFile?: string;
  /** The edge Envoy's route timeout (render-edge-config --route-timeout-ms): how long a request to an array may run. */
  routeTimeoutMs: number;
  /**
   * A hold the access log has not settled after this long is settled against the array. Always
   * longer than `routeTimeoutMs`: before that the request may still be running on the array.
   */
  pendingAfterMs: number;
  resolveIntervalMs: number;
  /**
   * Reconciliation with each array every Storage `pollInterval`: `repair` corrects the ledger to the
   * array, `report` only records drift, `off` never lists the arrays.
   */
  reconcile: 'repair' | 'report' | 'off';
  /** How long SIGTERM waits for in-flight Checks before closing them. */
  drainMs: number;
  /** Lifetime of a tenant access token minted by POST /proxy/refresh-token/. */
  refreshedAccessTtlSeconds: number;
  /** How close to its expiry an access token may be refreshed (the sidecar refreshes proactively). */
  earlyRefreshWindowSeconds: number;
  /** Tenant clusters' JWKS (CSMTenant spec.identities): least time between refetches for unknown `kid`s, and longest a fetched set is kept. */
  jwksRefreshCooldownMs: number;
  jwksMaxAgeMs: number;
  /** Label the decision counter by tenant (one series per tenant × reason × operation: off by default). */
  metricsTenantLabel: boolean;
  /** OTLP/HTTP endpoint traces of decisions are sent to; no tracing at all when unset. */
  otlpEndpoint?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Options as given on the command line or in the file (strings or the file's own types). */
export type RawServeOptions = Partial<Record<keyof typeof OPTION_NAMES, unknown>>;

/** Option key → flag, so every error names what the operator actually typed. */
export const OPTION_NAMES = {
  listen: '--listen',
  httpCheckListen: '--http-check-listen',
  adminListen: '--admin-listen',
  healthListen: '--health-listen',
  metricsListen: '--metrics-listen',
  resources: '--resources',
  resourcesDir: '--resources-dir',
  secretsDir: '--secrets-dir',
  namespace: '--namespace',
  kubeconfig: '--kubeconfig',
  leaseName: '--lease-name',
  identity: '--identity',
  signingKeysDir: '--signing-keys-dir',
  defaultKid: '--default-kid',
  issuer: '--issuer',
  audience: '--audience',
  tenantSubject: '--tenant-subject',
  maxAccessTtlSeconds: '--max-access-ttl',
  redisUrl: '--redis-url',
  redisSentinels: '--redis-sentinels',
  redisSentinelName: '--redis-sentinel-name',
  redisPasswordFile: '--redis-password-file',
  policyWasm: '--policy-wasm',
  arrayCaFile: '--array-ca-file',
  routeTimeoutMs: '--route-timeout-ms',
  pendingAfterMs: '--pending-after-ms',
  resolveIntervalMs: '--resolve-interval-ms',
  reconcile: '--reconcile',
  drainMs: '--drain-ms',
  refreshedAccessTtlSeconds: '--refreshed-access-ttl',
  earlyRefreshWindowSeconds: '--early-refresh-window',
  jwksRefreshCooldownMs: '--jwks-refresh-cooldown-ms',
  jwksMaxAgeMs: '--jwks-max-age-ms',
  metricsTenantLabel: '--metrics-tenant-label',
  otlpEndpoint: '--otlp-endpoint',
} as const;

export const DEFAULT_LISTEN = '127.0.0.1:50051';
/** Least time the resolver leaves between the route timeout and asking the array (access-log flush, clock skew). */
const SETTLE_MARGIN_MS = 5_000;

function text(raw: RawServeOptions, key: keyof typeof OPTION_NAMES): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') throw new ConfigError(`${OPTION_NAMES[key]} must be a string`);
  return String(value);
}

/** A switch: given without a value on the command line, true/false in the file. */
function flagValue(raw: RawServeOptions, key: keyof typeof OPTION_NAMES): boolean {
  const value = raw[key];
  if (value === undefined || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw new ConfigError(`${OPTION_NAMES[key]} is a switch: true or false, got "${String(value)}"`);
}

function required(raw: RawServeOptions, key: keyof typeof OPTION_NAMES): string {
  const value = text(raw, key);
  if (value === undefined) throw new ConfigError(`${OPTION_NAMES[key]} is required`);
  return value;
}

/** A positive whole number of `unit`, or a ConfigError naming `flagName`. */
function parsePositiveWhole(value: string, flagName: string, unit: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0) throw new ConfigError(`${flagName} must be a positive whole number of ${unit}, got "${value}"`);
  return number;
}

export const parseMilliseconds = (value: string, flagName: string): number => parsePositiveWhole(value, flagName, 'milliseconds');

function whole(raw: RawServeOptions, key: keyof typeof OPTION_NAMES, unit: 'milliseconds' | 'seconds', fallback: number): number {
  const value = text(raw, key);
  return value === undefined ? fallback : parsePositiveWhole(value, OPTION_NAMES[key], unit);
}

/** Comma lists (`--issuer a,b`) or the file's YAML lists. */
function list(raw: RawServeOptions, key: keyof typeof OPTION_NAMES, fallback: string[]): string[] {
  const value = raw[key];
  if (Array.isArray(value)) return value.map(String);
  const joined = text(raw, key);
  return joined === undefined ? fallback : joined.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function address(raw: RawServeOptions, key: keyof typeof OPTION_NAMES, allowUnix: boolean): string | undefined {
  const value = text(raw, key);
  if (value === undefined) return undefined;
  if (allowUnix && /^unix:\/.+/.test(value)) return value;
  if (!/^[^\s/]+:\d{1,5}$/.test(value)) {
    throw new ConfigError(`${OPTION_NAMES[key]} must be host:port${allowUnix ? ' or unix:/path' : ''}, got "${value}"`);
  }
  return value;
}

export const RESOURCE_SOURCES = ['directory', 'kubernetes'] as const;

function resourcesConfig(raw: RawServeOptions): ResourcesConfig {
  const source = text(raw, 'resources') ?? 'directory';
  const secretsDir = text(raw, 'secretsDir');
  if (source === 'directory') {
    for (const key of ['namespace', 'kubeconfig', 'leaseName', 'identity'] as const) {
      if (text(raw, key) !== undefined) throw new ConfigError(`${OPTION_NAMES[key]} needs --resources kubernetes`);
    }
    return { kind: 'directory', dir: required(raw, 'resourcesDir'), secretsDir: required(raw, 'secretsDir') };
  }
  if (source !== 'kubernetes') throw new ConfigError(`--resources must be one of ${RESOURCE_SOURCES.join(', ')}, got "${source}"`);
  if (text(raw, 'resourcesDir') !== undefined) throw new ConfigError('--resources-dir and --resources kubernetes contradict each other; use one');
  const namespace = text(raw, 'namespace') ?? process.env.POD_NAMESPACE;
  if (!namespace) throw new ConfigError('--namespace is required with --resources kubernetes (or POD_NAMESPACE)');
  const kubeconfig = text(raw, 'kubeconfig');
  return {
    kind: 'kubernetes',
    namespace,
    ...(kubeconfig && { kubeconfig }),
    ...(secretsDir && { secretsDir }),
    leaseName: text(raw, 'leaseName') ?? 'storage-authz',
    identity: text(raw, 'identity') ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`,
  };
}

function ledgerConfig(raw: RawServeOptions): LedgerConfig {
  const url = text(raw, 'redisUrl');
  const sentinels = list(raw, 'redisSentinels', []);
  const passwordFile = text(raw, 'redisPasswordFile');
  if (url && sentinels.length > 0) throw new ConfigError('--redis-url and --redis-sentinels are mutually exclusive');
  if (url) {
    if (!/^rediss?:\/\//.test(url)) throw new ConfigError('--redis-url must start with redis:// or rediss://');
    return { kind: 'redis', url, ...(passwordFile && { passwordFile }) };
  }
  if (sentinels.length > 0) {
    const parsed = sentinels.map((entry) => {
      const match = /^([^\s:]+):(\d{1,5})$/.exec(entry);
      if (!match) throw new ConfigError(`--redis-sentinels entries must be host:port, got "${entry}"`);
      return { host: match[1]!, port: Number(match[2]) };
    });
    return { kind: 'sentinel', sentinels: parsed, name: text(raw, 'redisSentinelName') ?? 'mymaster', ...(passwordFile && { passwordFile }) };
  }
  if (passwordFile) throw new ConfigError('--redis-password-file needs --redis-url or --redis-sentinels');
  return { kind: 'memory' };
}

const RECONCILE_MODES = ['repair', 'report', 'off'] as const;

function reconcileMode(raw: RawServeOptions): ServeConfig['reconcile'] {
  const value = text(raw, 'reconcile') ?? 'repair';
  const mode = RECONCILE_MODES.find((candidate) => candidate === value);
  if (!mode) throw new ConfigError(`--reconcile must be one of ${RECONCILE_MODES.join(', ')}, got "${value}"`);
  return mode;
}

/**
 * The resolver must not ask the array about a hold whose request may still be running there: a
 * "not found" would release a create the array finishes later. So `pendingAfterMs` defaults to the
 * route timeout plus a margin, and a value not above the route timeout is refused.
 */
function settlementTimes(raw: RawServeOptions): Pick<ServeConfig, 'routeTimeoutMs' | 'pendingAfterMs'> {
  const routeTimeoutMs = whole(raw, 'routeTimeoutMs', 'milliseconds', DEFAULT_ROUTE_TIMEOUT_MS);
  const margin = Math.max(SETTLE_MARGIN_MS, Math.ceil(routeTimeoutMs / 4));
  const pendingAfterMs = whole(raw, 'pendingAfterMs', 'milliseconds', routeTimeoutMs + margin);
  if (pendingAfterMs <= routeTimeoutMs) {
    throw new ConfigError(
      `--pending-after-ms (${pendingAfterMs}) must be longer than the edge's route timeout --route-timeout-ms (${routeTimeoutMs}): ` +
        'a create still running on the array would be released as "not found"',
    );
  }
  return { routeTimeoutMs, pendingAfterMs };
}

/** Validates merged options into a ServeConfig; throws a ConfigError naming the first bad option. */
export function parseServeConfig(raw: RawServeOptions): ServeConfig {
  const httpCheckListen = address(raw, 'httpCheckListen', true);
  const adminListen = address(raw, 'adminListen', false);
  const healthListen = address(raw, 'healthListen', false);
  const metricsListen = address(raw, 'metricsListen', false);
  const policyWasm = text(raw, 'policyWasm');
  const arrayCaFile = text(raw, 'arrayCaFile');
  const otlpEndpoint = httpUrl(raw, 'otlpEndpoint');
  return {
    listen: address(raw, 'listen', true) ?? DEFAULT_LISTEN,
    ...(httpCheckListen && { httpCheckListen }),
    ...(adminListen && { adminListen }),
    ...(healthListen && { healthListen }),
    ...(metricsListen && { metricsListen }),
    resources: resourcesConfig(raw),
    signingKeysDir: required(raw, 'signingKeysDir'),
    defaultKid: required(raw, 'defaultKid'),
    issuers: list(raw, 'issuer', [...DEFAULT_ACCEPTED_ISSUERS]),
    audiences: list(raw, 'audience', [...DEFAULT_ACCEPTED_AUDIENCES]),
    tenantSubjects: list(raw, 'tenantSubject', [...DEFAULT_TENANT_SUBJECTS]),
    maxAccessTtlSeconds: whole(raw, 'maxAccessTtlSeconds', 'seconds', DEFAULT_MAX_ACCESS_TTL_SECONDS),
    ledger: ledgerConfig(raw),
    ...(policyWasm && { policyWasm }),
    ...(arrayCaFile && { arrayCaFile }),
    ...settlementTimes(raw),
    resolveIntervalMs: whole(raw, 'resolveIntervalMs', 'milliseconds', 30_000),
    reconcile: reconcileMode(raw),
    drainMs: whole(raw, 'drainMs', 'milliseconds', 10_000),
    refreshedAccessTtlSeconds: whole(raw, 'refreshedAccessTtlSeconds', 'seconds', DEFAULT_REFRESHED_ACCESS_TTL_SECONDS),
    earlyRefreshWindowSeconds: whole(raw, 'earlyRefreshWindowSeconds', 'seconds', DEFAULT_EARLY_REFRESH_WINDOW_SECONDS),
    jwksRefreshCooldownMs: whole(raw, 'jwksRefreshCooldownMs', 'milliseconds', 30_000),
    jwksMaxAgeMs: whole(raw, 'jwksMaxAgeMs', 'milliseconds', 300_000),
    metricsTenantLabel: flagValue(raw, 'metricsTenantLabel'),
    ...(otlpEndpoint && { otlpEndpoint }),
  };
}

function httpUrl(raw: RawServeOptions, key: keyof typeof OPTION_NAMES): string | undefined {
  const value = text(raw, key);
  if (value === undefined) return undefined;
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) throw new ConfigError(`${OPTION_NAMES[key]} must be an http:// or https:// URL (an OTLP/HTTP endpoint such as http://otel-collector:4318), got "${value}"`);
  return value;
}

/** Reads a YAML or JSON config file whose keys are the option names (camelCase), e.g. `resourcesDir`. */
export async function readConfigFile(file: string): Promise<RawServeOptions> {
  let parsed: unknown;
  try {
    parsed = parseYaml(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`config file ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${file}: expected a mapping of options`);
  const unknown = Object.keys(parsed).filter((key) => !(key in OPTION_NAMES));
  if (unknown.length > 0) throw new ConfigError(`config file ${file}: unknown option(s) ${unknown.join(', ')}; known: ${Object.keys(OPTION_NAMES).join(', ')}`);
  return parsed as RawServeOptions;
}
