// DirectoryResources on a real directory: edits take effect without a restart, through the ways a
// file really changes (editor rename-over, kubelet `..data` symlink swap); an invalid edit is
// reported and changes nothing; rotated credential files are seen.
import { expect } from 'chai';
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CredentialsError } from '../src/resources/credentials.js';
import { DirectoryResources } from '../src/resources/directory.js';
import { formatResourceError, ResourceLoadError, type ResourceError } from '../src/resources/errors.js';
import { storageKey, type ResourceSnapshot, type StorageSystem } from '../src/resources/types.js';
import { silentLogger } from '../src/telemetry/log.js';
import { rejectionOf } from './support/rejection.js';
import { roleYaml, STORAGE_YAML as STORAGE, SYSTEM_ID, tenantYaml } from './support/resourceYaml.js';
import { waitFor } from '../src/harness/wait.js';

const ROLE = (quota: string) => roleYaml('bronze', quota);
const TENANT = (revoke: boolean) => tenantYaml('tenant-a', 'bronze', revoke);
const GiB = 1024 * 1024;

describe('resources: hot reload of a directory', () => {
  let root: string;
  let resourcesDir: string;
  let secretsDir: string;
  let resources: DirectoryResources | undefined;
  let changes: ResourceSnapshot[];
  let rejections: (readonly ResourceError[])[];

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'resources-reload-'));
    resourcesDir = path.join(root, 'resources');
    secretsDir = path.join(root, 'secrets');
    await mkdir(resourcesDir);
    await mkdir(path.join(secretsDir, 'powerflex-creds'), { recursive: true });
    await writeFile(path.join(secretsDir, 'powerflex-creds', 'username'), 'admin\n');
    await writeFile(path.join(secretsDir, 'powerflex-creds', 'password'), 'first-password\n');
    changes = [];
    rejections = [];
  });
  afterEach(async () => {
    resources?.close();
    resources = undefined;
    await rm(root, { recursive: true, force: true });
  });

  async function open(): Promise<DirectoryResources> {
    resources = await DirectoryResources.open(resourcesDir, {
      secretsDir,
      logger: silentLogger,
      debounceMs: 20,
      onRejected: (errors) => rejections.push(errors),
    });
    resources.onChange((snapshot) => changes.push(snapshot));
    return resources;
  }

  /** Writes like an editor or kubectl cp: a temp file renamed over the original. */
  async function replaceFile(file: string, text: string): Promise<void> {
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
    await writeFile(temp, text);
    await rename(temp, file);
  }

  const quotaOf = (snapshot: ResourceSnapshot) => snapshot.roles.get('bronze')?.quota;

  it('applies an edit without restart and keeps the last good snapshot on an invalid edit', async () => {
    await writeFile(path.join(resourcesDir, 'storage.yaml'), STORAGE);
    await writeFile(path.join(resourcesDir, 'roles.yaml'), ROLE('100GiB'));
    await writeFile(path.join(resourcesDir, 'tenants.yaml'), TENANT(false));
    const source = await open();
    expect(source.current().generation).to.equal(1);
    expect(quotaOf(source.current())).to.deep.equal({ kind: 'limited', kib: 100 * GiB });

    await replaceFile(path.join(resourcesDir, 'roles.yaml'), ROLE('200GiB'));
    await waitFor(() => changes.length === 1, 'the quota edit to be applied');
    expect(source.current()).to.equal(changes[0]);
    expect(source.current().generation).to.equal(2);
    expect(quotaOf(source.current())).to.deep.equal({ kind: 'limited', kib: 200 * GiB });

    await replaceFile(path.join(resourcesDir, 'roles.yaml'), ROLE('100GB7'));
    await waitFor(() => rejections.length > 0, 'the invalid edit to be reported');
    expect(rejections[0]!.map(formatResourceError)).to.deep.equal([
      'roles.yaml: CSMRole "bronze": spec.quota: "100GB7" is not a size (e.g. 100GiB, 10TiB, 500MiB, 10GB, or 0 for unlimited)',
    ]);
    expect(source.current().generation).to.equal(2);
    expect(quotaOf(source.current())).to.deep.equal({ kind: 'limited', kib: 200 * GiB });

    // Removing a role a tenant still uses is rejected the same way.
    await unlink(path.join(resourcesDir, 'roles.yaml'));
    await waitFor(() => rejections.some((errors) => errors.some((e) => e.message.includes('role "bronze" does not exist'))), 'the dangling role to be reported');
    expect(source.current().roles.has('bronze')).to.equal(true);

    await replaceFile(path.join(resourcesDir, 'roles.yaml'), ROLE('300GiB'));
    await replaceFile(path.join(resourcesDir, 'tenants.yaml'), TENANT(true));
    await waitFor(() => source.current().tenants.get('tenant-a')?.revoke === true && quotaOf(source.current())?.kind === 'limited', 'the fixed directory to be accepted');
    expect(quotaOf(source.current())).to.deep.equal({ kind: 'limited', kib: 300 * GiB });
  });

  it('follows a Kubernetes ConfigMap update (atomic ..data symlink swap)', async () => {
    // The layout kubelet writes: name -> ..data/name, ..data -> ..<timestamp>/
    const v1 = path.join(resourcesDir, '..2026_11_22_v1');
    await mkdir(v1);
    await writeFile(path.join(v1, 'all.yaml'), `${STORAGE}---\n${ROLE('1TiB')}---\n${TENANT(false)}`);
    await symlink('..2026_11_22_v1', path.join(resourcesDir, '..data'));
    await symlink('..data/all.yaml', path.join(resourcesDir, 'all.yaml'));
    const source = await open();
    expect(quotaOf(source.current())).to.deep.equal({ kind: 'limited', kib: 1024 * GiB });

    const v2 = path.join(resourcesDir, '..2026_11_22_v2');
    await mkdir(v2);
    await writeFile(path.join(v2, 'all.yaml'), `${STORAGE}---\n${ROLE('0')}---\n${TENANT(false)}`);
    await symlink('..2026_11_22_v2', path.join(resourcesDir, '..data_tmp'));
    await rename(path.join(resourcesDir, '..data_tmp'), path.join(resourcesDir, '..data'));
    await waitFor(() => changes.length === 1, 'the ConfigMap swap to be applied');
    expect(quotaOf(source.current())).to.deep.equal({ kind: 'unlimited' });
  });

  it('does not announce a reload that changed nothing', async () => {
    await writeFile(path.join(resourcesDir, 'all.yaml'), `${STORAGE}---\n${ROLE('1TiB')}---\n${TENANT(false)}`);
    const source = await open();
    await replaceFile(path.join(resourcesDir, 'all.yaml'), `# reformatted\n${STORAGE}---\n${ROLE('1024GiB')}---\n${TENANT(false)}`);
    expect(await source.reload()).to.equal(true);
    expect(source.current().generation).to.equal(1);
    expect(changes).to.deep.equal([]);
  });

  it('refuses to start on an invalid directory, listing every problem', async () => {
    await writeFile(path.join(resourcesDir, 'roles.yaml'), ROLE('-1GiB'));
    await writeFile(path.join(resourcesDir, 'tenants.yaml'), TENANT(false).replace('approveSdc: true', 'approveSDC: true'));
    const error = await rejectionOf(open());
    expect(error).to.be.instanceOf(ResourceLoadError);
    expect((error as ResourceLoadError).errors.map(formatResourceError)).to.have.members([
      'roles.yaml: CSMRole "bronze": spec.quota: "-1GiB" is negative; a quota is a size (e.g. 100GiB, 10TiB, 500MiB, 10GB, or 0 for unlimited)',
      'tenants.yaml: CSMTenant "tenant-a": spec.approveSdc: is required',
      'tenants.yaml: CSMTenant "tenant-a": spec.approveSDC: is not a known field (did you mean "approveSdc"?)',
    ]);
  });

  it('reads credentials from the mounted Secret and sees a rotated password', async () => {
    await writeFile(path.join(resourcesDir, 'all.yaml'), `${STORAGE}---\n${ROLE('1TiB')}---\n${TENANT(false)}`);
    const source = await open();
    const system = source.current().storage.get(storageKey('powerflex', SYSTEM_ID))!;
    expect(await source.credentials(system)).to.deep.equal({ username: 'admin', password: 'first-password' });

    // Files are re-checked at most once a second (credentials.ts): a rotation shows within that.
    await replaceFile(path.join(secretsDir, 'powerflex-creds', 'password'), 'second-password\n');
    await waitFor(async () => (await source.credentials(system)).password === 'second-password', 'the rotated password', 5000);
    expect(await source.credentials(system)).to.deep.equal({ username: 'admin', password: 'second-password' });

    await unlink(path.join(secretsDir, 'powerflex-creds', 'password'));
    await waitFor(() => source.credentials(system).then(() => false, () => true), 'the removed file to be noticed', 5000);
    const error = await rejectionOf(source.credentials(system));
    expect(error).to.be.instanceOf(CredentialsError);
    expect(error.message).to.equal(`Storage "powerflex-1": cannot read credentials file ${path.join(secretsDir, 'powerflex-creds', 'password')} (ENOENT)`);
  });

  it('reads Secrets Store CSI object names for a secretProviderClass', async () => {
    await mkdir(path.join(secretsDir, 'vault-powerflex'));
    await writeFile(path.join(secretsDir, 'vault-powerflex', 'pf-user'), 'vault-admin');
    await writeFile(path.join(secretsDir, 'vault-powerflex', 'pf-pass'), 'vault-password');
    const spc = STORAGE.replace('{secret: powerflex-creds}', '{secretProviderClass: {name: vault-powerflex, usernameObjectName: pf-user, passwordObjectName: pf-pass}}');
    await writeFile(path.join(resourcesDir, 'all.yaml'), `${spc}---\n${ROLE('1TiB')}`);
    const source = await open();
    const system: StorageSystem = source.current().storage.get(storageKey('powerflex', SYSTEM_ID))!;
    expect(await source.credentials(system)).to.deep.equal({ username: 'vault-admin', password: 'vault-password' });
  });
});
