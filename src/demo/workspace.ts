// The files a storage admin would have for one PowerFlex array: resources (Storage, CSMRole,
// CSMTenant YAML), the array's credential Secret, a token signing key, the edge's serving
// certificate and the array's CA. Written to a temporary directory for the demo and the e2e tests.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { API_VERSION, type SystemType } from '../resources/types.js';
import { generateServingCertificate } from '../sidecar/certificates.js';
import type { SigningKeySet } from '../tokens/types.js';

export interface ArrayDescription {
  /** https://host:port of the gateway */
  endpoint: string;
  systemId: string;
  /** PEM of the CA the gateway's certificate chains to. */
  ca: string;
  username: string;
  password: string;
}

export interface TenantDescription {
  name: string;
  approveSdc: boolean;
  /** Names of this tenant's volumes start with it (reconciliation charges such volumes to it). */
  volumePrefix?: string;
}

export interface WorkspaceOptions {
  array: ArrayDescription;
  /** The array's type (default powerflex). */
  systemType?: SystemType;
  /** Pool name the role grants. */
  pool: string;
  /** The role's quota in GiB. */
  quotaGiB: number;
  tenants: readonly TenantDescription[];
  /** The Storage's reconciliation interval (Go duration; "0" off); the service default when unset. */
  pollInterval?: string;
}

export interface Workspace {
  dir: string;
  resourcesDir: string;
  /** `<secretsDir>/<secret>/username|password`, as a mounted Secret. */
  secretsDir: string;
  keysDir: string;
  signingKeys: SigningKeySet;
  arrayCaFile: string;
  edgeCertFile: string;
  edgeKeyFile: string;
  /** PEM that verifies the edge's certificate (it is self-signed). */
  edgeCa: string;
  storageName: string;
  roleName: string;
  remove(): Promise<void>;
}

export const SIGNING_KEY_ID = 'demo';

export async function createWorkspace(options: WorkspaceOptions): Promise<Workspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'storage-authz-'));
  const systemType = options.systemType ?? 'powerflex';
  const storageName = `${systemType}-1`;
  const credentialsSecret = `${systemType}-creds`;
  const resourcesDir = path.join(dir, 'resources');
  const secretsDir = path.join(dir, 'secrets');
  const keysDir = path.join(dir, 'signing-keys');
  await Promise.all([resourcesDir, path.join(secretsDir, credentialsSecret), keysDir].map((d) => mkdir(d, { recursive: true })));

  // A DNS-1123 name; PowerStore pools are systemIDs such as `PS4ebb8d4e8488`, PowerMax SRPs `SRP_1`, PowerScale isiPaths `/ifs/data/csi`.
  const roleName = `${options.pool}-${options.quotaGiB}g`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '');
  const objects: Record<string, unknown> = {
    'storage.yaml': {
      apiVersion: API_VERSION, kind: 'Storage', metadata: { name: storageName },
      spec: { type: systemType, endpoint: options.array.endpoint, systemID: options.array.systemId, skipCertificateValidation: false, storageSystemCredentials: { secret: credentialsSecret }, ...(options.pollInterval !== undefined && { pollInterval: options.pollInterval }) },
    },
    'role.yaml': {
      apiVersion: API_VERSION, kind: 'CSMRole', metadata: { name: roleName },
      spec: { quota: `${options.quotaGiB}GiB`, systemType, systemID: options.array.systemId, pool: options.pool },
    },
  };
  for (const tenant of options.tenants) {
    objects[`tenant-${tenant.name}.yaml`] = {
      apiVersion: API_VERSION, kind: 'CSMTenant', metadata: { name: tenant.name },
      spec: { roles: roleName, approveSdc: tenant.approveSdc, revoke: false, ...(tenant.volumePrefix !== undefined && { volumePrefix: tenant.volumePrefix }) },
    };
  }
  // The key file holds text (hex of 48 random bytes): the loader trims a trailing newline, which
  // would silently shorten raw random bytes ending in 0x0a (1 run in 256) and fail every token.
  const secret = randomBytes(48).toString('hex');
  const edge = await generateServingCertificate(new Date(Date.now() - 60_000), 24 * 3600_000);
  const files: [string, string][] = [
    ...Object.entries(objects).map(([name, object]): [string, string] => [path.join(resourcesDir, name), stringify(object)]),
    [path.join(secretsDir, credentialsSecret, 'username'), options.array.username],
    [path.join(secretsDir, credentialsSecret, 'password'), options.array.password],
    [path.join(keysDir, SIGNING_KEY_ID), secret],
    [path.join(dir, 'array-ca.pem'), options.array.ca],
    [path.join(dir, 'edge-cert.pem'), edge.certPem],
    [path.join(dir, 'edge-key.pem'), edge.keyPem],
  ];
  await Promise.all(files.map(([file, content]) => writeFile(file, content, { mode: 0o600 })));

  return {
    dir,
    resourcesDir,
    secretsDir,
    keysDir,
    signingKeys: { defaultKid: SIGNING_KEY_ID, keys: new Map([[SIGNING_KEY_ID, new TextEncoder().encode(secret)]]) },
    arrayCaFile: path.join(dir, 'array-ca.pem'),
    edgeCertFile: path.join(dir, 'edge-cert.pem'),
    edgeKeyFile: path.join(dir, 'edge-key.pem'),
    edgeCa: edge.certPem,
    storageName,
    roleName,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
