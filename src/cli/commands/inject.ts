// `authzctl inject` (Dell v1 had `karavictl inject`): adds the storage-authz sidecar to a CSI driver's
// Deployment/DaemonSet YAML read from stdin, in the same shape Dell's driver charts give their
// authorization container, and points the driver's array list at the sidecar's localhost ports.
// Pure apart from stdin/stdout; injecting twice changes nothing.
import type { Command } from 'commander';
import { parseAllDocuments, stringify } from 'yaml';
import { CliError } from '../errors.js';
import type { Io } from '../output.js';
import { readStdin } from '../secretInput.js';

export const SIDECAR_CONTAINER = 'karavi-authorization-proxy';
/** Holds the array list with `endpoint: https://localhost:<port>` (+ `intendedEndpoint`): read by the sidecar and, after inject, by the driver. */
export const CONFIG_SECRET = 'karavi-authorization-config';
const ROOT_CA_SECRET = 'proxy-server-root-certificate';
const TOKENS_SECRET = 'proxy-authz-tokens';
const TMP_VOLUME = 'karavi-authorization-tmp';

/** The driver's array-list volume per plugin, as Dell's driver charts name it. */
const DRIVER_CONFIG_VOLUMES: Readonly<Record<string, string>> = {
  'vxflexos-config': 'powerflex',
  'powermax-reverseproxy-secret': 'powermax',
  'isilon-configs': 'powerscale',
  'powerstore-config': 'powerstore',
};

export interface InjectOptions {
  image: string;
  proxyHost: string;
  /** Skip verifying the proxy's certificate (Dell's `skipCertificateValidation`). */
  insecure: boolean;
  /** Plugin identifier; detected from the driver's config volume when absent. */
  plugin?: string;
}

type Json = Record<string, unknown>;

const record = (value: unknown): Json | undefined => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined);
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((v): v is Json => record(v) !== undefined) : []);

/** Replaces the entry named `name` in place (keeping order), or appends it. */
function upsert(entries: Json[], entry: Json): Json[] {
  const at = entries.findIndex((e) => e.name === entry.name);
  if (at === -1) return [...entries, entry];
  return entries.map((e, i) => (i === at ? entry : e));
}

function sidecarContainer(options: InjectOptions, plugin: string, withParams: string | undefined): Json {
  const tokenEnv = (name: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: TOKENS_SECRET, key } } });
  return {
    name: SIDECAR_CONTAINER,
    image: options.image,
    imagePullPolicy: 'IfNotPresent',
    env: [
      { name: 'PROXY_HOST', value: options.proxyHost },
      { name: 'SKIP_CERTIFICATE_VALIDATION', value: String(options.insecure) },
      { name: 'PLUGIN_IDENTIFIER', value: plugin },
      tokenEnv('ACCESS_TOKEN', 'access'),
      tokenEnv('REFRESH_TOKEN', 'refresh'),
    ],
    volumeMounts: [
      ...(withParams ? [{ name: withParams, mountPath: '/etc/karavi-authorization' }] : []),
      { name: CONFIG_SECRET, mountPath: '/etc/karavi-authorization/config' },
      { name: ROOT_CA_SECRET, mountPath: '/etc/karavi-authorization/root-certificates' },
      { name: TMP_VOLUME, mountPath: '/tmp' },
    ],
    securityContext: { runAsNonRoot: true, runAsUser: 10001, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  };
}

/** Injects into one workload; other objects come back unchanged. Throws a CliError naming the object. */
export function injectWorkload(object: Json, options: InjectOptions): Json {
  const kind = object.kind;
  if (kind !== 'Deployment' && kind !== 'DaemonSet') return object;
  const where = `${kind} ${String(record(object.metadata)?.name ?? '?')}`;
  const template = record(record(object.spec)?.template);
  const podSpec = record(template?.spec);
  if (!template || !podSpec) throw new CliError(`${where}: has no spec.template.spec`);
  const volumes = list(podSpec.volumes);
  const driverVolume = volumes.find((v) => typeof v.name === 'string' && v.name in DRIVER_CONFIG_VOLUMES);
  const plugin = options.plugin ?? (driverVolume ? DRIVER_CONFIG_VOLUMES[driverVolume.name as string] : undefined);
  if (!plugin) throw new CliError(`${where}: no driver config volume (${Object.keys(DRIVER_CONFIG_VOLUMES).join(', ')}) to detect the plugin from; give --plugin`);
  const params = volumes.find((v) => typeof v.name === 'string' && v.name.endsWith('-config-params') && record(v.configMap));

  // The driver now reads the array list whose endpoints are the sidecar's localhost ports.
  const redirected = volumes.map((v) => (v === driverVolume ? { name: v.name, secret: { secretName: CONFIG_SECRET } } : v));
  let nextVolumes = upsert(redirected, { name: CONFIG_SECRET, secret: { secretName: CONFIG_SECRET } });
  nextVolumes = upsert(nextVolumes, { name: ROOT_CA_SECRET, secret: { secretName: ROOT_CA_SECRET, optional: options.insecure } });
  nextVolumes = upsert(nextVolumes, { name: TMP_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } });
  const containers = upsert(list(podSpec.containers), sidecarContainer(options, plugin, params?.name as string | undefined));
  const metadata = record(template.metadata) ?? {};
  const annotations = { ...record(metadata.annotations), 'com.dell.karavi-authorization-proxy': 'true' };
  return {
    ...object,
    spec: {
      ...record(object.spec),
      template: { ...template, metadata: { ...metadata, annotations }, spec: { ...podSpec, containers, volumes: nextVolumes } },
    },
  };
}

/** Every document of a multi-document YAML stream, injected; comments are not kept. */
export function injectYaml(text: string, options: InjectOptions): string {
  const documents = parseAllDocuments(text);
  const out: string[] = [];
  for (const [index, document] of documents.entries()) {
    if (document.errors.length > 0) throw new CliError(`document ${index + 1}: not valid YAML: ${document.errors[0]!.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    const object = record(value);
    if (!object) throw new CliError(`document ${index + 1}: expected a Kubernetes object`);
    out.push(stringify(injectWorkload(object, options)));
  }
  if (out.length === 0) throw new CliError('no objects on stdin: pipe a Deployment or DaemonSet, e.g. kubectl get deploy -n vxflexos vxflexos-controller -o yaml | authzctl inject …');
  return out.join('---\n');
}

export function registerInjectCommand(program: Command, io: Io): void {
  program
    .command('inject')
    .description("add the storage-authz sidecar to a CSI driver's Deployment/DaemonSet YAML (stdin → stdout; injecting twice changes nothing)")
    .requiredOption('--proxy-host <host[:port]>', 'the storage-authz edge the sidecar forwards to')
    .requiredOption('--image <image>', 'the storage-authz image')
    .option('--skip-certificate-validation', "the sidecar does not verify the edge's certificate (Dell's value of that name; otherwise Secret proxy-server-root-certificate holds its CA)")
    .option('--plugin <id>', 'powerflex, powermax, powerscale or powerstore (default: from the driver config volume)')
    .action(async (flags: { proxyHost: string; image: string; skipCertificateValidation?: boolean; plugin?: string }) => {
      const text = await readStdin();
      io.stdout(injectYaml(text, { image: flags.image, proxyHost: flags.proxyHost, insecure: flags.skipCertificateValidation === true, ...(flags.plugin && { plugin: flags.plugin }) }));
      io.stderr(`injected: the driver now reads Secret ${CONFIG_SECRET} (key config: endpoint https://localhost:<port> per array, intendedEndpoint the array); the sidecar reads Secret ${TOKENS_SECRET}\n`);
    });
}
