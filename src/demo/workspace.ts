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
  /** The Storage's `maxConcurrentRequests` (the edge's limit of requests in flight to it); unset when absent. */
  maxConcurrentRequests?: number;
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
  /**
   * Further arrays of the same type: Storage `<type>-2`, `<type>-3`, … each with its own credentials
   * Secret and a role like the first one's (`<roleName>-2`, …) that every tenant is bound to.
   */
  moreArrays?: readonly ArrayDescription[];
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
  /** Every role the tenants are bound to: `roleName` first, then one per further array. */
  roleNames: string[];
  remove(): Promise<void>;
}

export const SIGNING_KEY_ID = 'demo';

export async function createWorkspace(options: WorkspaceOptions): Promise<Workspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'storage-authz-'));
  const systemType = options.systemType ?? 'powerflex';
  const storageName = `${systemType}-1`;
  const resourcesDir = path.join(dir, 'resources');
  const secretsDir = path.join(dir, 'secrets');
  const keysDir = path.join(dir, 'signing-keys');
  // A DNS-1123 name; PowerStore pools are systemIDs such as `PS4ebb8d4e8488`, PowerMax SRPs `SRP_1`, PowerScale isiPaths `/ifs/data/csi`.
  const roleName = `${options.pool}-${options.quotaGiB}g`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '');
  const arrays = [options.array, ...(options.moreArrays ?? [])].map((array, i) => ({
    array,
    storage: i === 0 ? storageName : `${systemType}-${i + 1}`,
    secret: i === 0 ? `${systemType}-creds` : `${systemType}-${i + 1}-creds`,
    role: i === 0 ? roleName : `${roleName}-${i + 1}`,
  }));
  await Promise.all([resourcesDir, ...arrays.map((a) => path.join(secretsDir, a.secret)), keysDir].map((d) => mkdir(d, { recursive: true })));

  const objects: Record<string, unknown> = {};
  for (const [i, { array, storage, secret, role }] of arrays.entries()) {
    const suffix = i === 0 ? '' : `-${i + 1}`;
    objects[`storage${suffix}.yaml`] = {
      apiVersion: API_VERSION, kind: 'Storage', metadata: { name: storage },
      spec: {
        type: systemType, endpoint: array.endpoint, systemID: array.systemId, skipCertificateValidation: false, storageSystemCredentials: { secret },
        ...(options.pollInterval !== undefined && { pollInterval: options.pollInterval }),
        ...(array.maxConcurrentRequests !== undefined && { maxConcurrentRequests: array.maxConcurrentRequests }),
      },
    };
    objects[`role${suffix}.yaml`] = {
      apiVersion: API_VERSION, kind: 'CSMRole', metadata: { name: role },
      spec: { quota: `${options.quotaGiB}GiB`, systemType, systemID: array.systemId, pool: options.pool },
    };
  }
  const roleNames = arrays.map((a) => a.role);
  for (const tenant of options.tenants) {
    objects[`tenant-${tenant.name}.yaml`] = {
      apiVersion: API_VERSION, kind: 'CSMTenant', metadata: { name: tenant.name },
      spec: { roles: roleNames.join(','), approveSdc: tenant.approveSdc, revoke: false, ...(tenant.volumePrefix !== undefined && { volumePrefix: tenant.volumePrefix }) },
    };
  }
  // The key file holds text (hex of 48 random bytes): the loader trims a trailing newline, which
  // would silently shorten raw random bytes ending in 0x0a (1 run in 256) and fail every token.
  const secret = randomBytes(48).toString('hex');
  const edge = await generateServingCertificate(new Date(Date.now() - 60_000), 24 * 3600_000);
  const files: [string, string][] = [
    ...Object.entries(objects).map(([name, object]): [string, string] => [path.join(resourcesDir, name), stringify(object)]),
    ...arrays.flatMap(({ array, secret: credentials }): [string, string][] => [
      [path.join(secretsDir, credentials, 'username'), array.username],
      [path.join(secretsDir, credentials, 'password'), array.password],
    ]),
    [path.join(keysDir, SIGNING_KEY_ID), secret],
    // One bundle the service and the edge trust every array's certificate with.
    [path.join(dir, 'array-ca.pem'), arrays.map(({ array }) => array.ca.trim()).join('\n') + '\n'],
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
    roleNames,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
