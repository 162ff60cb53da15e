import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { rejectionOf } from '../../test/support/rejection.js';
import { loadResourceDirectory } from './load.js';
import { deleteObjectFile, InvalidObjectError, RejectedChangeError, serializeObject, writeObjectFile } from './writer.js';

const storageSpec = {
  type: 'powerflex', endpoint: 'https://10.0.0.1', systemID: '7045c4cc20dffc0f',
  skipCertificateValidation: false, storageSystemCredentials: { secret: 'powerflex-creds' },
};
const roleSpec = (quota: string) => ({ quota, systemType: 'powerflex', systemID: '7045c4cc20dffc0f', pool: 'bronze' });

describe('resources: writing objects', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'writer-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('serializes a valid object as a manifest and refuses an invalid one with its field errors', () => {
    expect(parse(serializeObject('CSMRole', 'gold', roleSpec('1TiB')))).to.deep.equal({
      apiVersion: 'csm-authorization.storage.dell.com/v1', kind: 'CSMRole', metadata: { name: 'gold' }, spec: roleSpec('1TiB'),
    });
    expect(() => serializeObject('CSMRole', 'gold', roleSpec('lots')))
      .to.throw(InvalidObjectError, /CSMRole "gold" is invalid:\n {2}spec.quota: "lots" is not a size/);
  });

  it('creates objects in their own files, leaving a directory the loader accepts', async () => {
    expect(await writeObjectFile(dir, { kind: 'Storage', name: 'powerflex-1', spec: storageSpec })).to.equal('storage-powerflex-1.yaml');
    await writeObjectFile(dir, { kind: 'CSMRole', name: 'gold', spec: roleSpec('1TiB') });
    await writeObjectFile(dir, { kind: 'CSMTenant', name: 'tenant-a', spec: { roles: 'gold', approveSdc: true, revoke: false } });
    expect((await readdir(dir)).sort()).to.deep.equal(['csmrole-gold.yaml', 'csmtenant-tenant-a.yaml', 'storage-powerflex-1.yaml']);
    const loaded = await loadResourceDirectory(dir, 1);
    expect(loaded.ok && loaded.snapshot.tenants.get('tenant-a')?.roles).to.deep.equal(['gold']);
  });

  it('refuses a change that would leave a dangling reference, writing nothing', async () => {
    await writeObjectFile(dir, { kind: 'Storage', name: 'powerflex-1', spec: storageSpec });
    const error = await rejectionOf(writeObjectFile(dir, { kind: 'CSMTenant', name: 'tenant-a', spec: { roles: 'gold', approveSdc: true, revoke: false } }));
    expect(error).to.be.instanceOf(RejectedChangeError);
    expect((error as RejectedChangeError).errors.map((e) => e.message)).to.deep.equal(['role "gold" does not exist (no CSMRole named "gold")']);
    expect(await readdir(dir)).to.deep.equal(['storage-powerflex-1.yaml']);

    await writeObjectFile(dir, { kind: 'CSMRole', name: 'gold', spec: roleSpec('1TiB') });
    await writeObjectFile(dir, { kind: 'CSMTenant', name: 'tenant-a', spec: { roles: 'gold', approveSdc: true, revoke: false } });
    expect(await rejectionOf(deleteObjectFile(dir, 'CSMRole', 'gold'))).to.be.instanceOf(RejectedChangeError);
    expect(await readdir(dir)).to.include('csmrole-gold.yaml');
  });

  it('updates and deletes an object inside a hand-written multi-document file, keeping the rest', async () => {
    const handWritten = [
      '# our arrays and roles',
      serializeObject('Storage', 'powerflex-1', storageSpec).trimEnd(),
      '---',
      serializeObject('CSMRole', 'gold', roleSpec('1TiB')).trimEnd(),
      '---',
      serializeObject('CSMRole', 'silver', roleSpec('2TiB')).trimEnd(),
      '',
    ].join('\n');
    await writeFile(path.join(dir, 'site.yaml'), handWritten);

    expect(await writeObjectFile(dir, { kind: 'CSMRole', name: 'gold', spec: roleSpec('5TiB') })).to.equal('site.yaml');
    let loaded = await loadResourceDirectory(dir, 1);
    expect(loaded.ok && loaded.snapshot.roles.get('gold')?.quota).to.deep.equal({ kind: 'limited', kib: 5 * 1024 ** 3 });
    expect(await readFile(path.join(dir, 'site.yaml'), 'utf8')).to.match(/^# our arrays and roles/);

    expect(await deleteObjectFile(dir, 'CSMRole', 'silver')).to.equal('site.yaml');
    expect(await deleteObjectFile(dir, 'CSMRole', 'silver')).to.equal(undefined);
    loaded = await loadResourceDirectory(dir, 1);
    expect(loaded.ok && [...loaded.snapshot.roles.keys()]).to.deep.equal(['gold']);
    expect(await readdir(dir)).to.deep.equal(['site.yaml']);
  });
});
