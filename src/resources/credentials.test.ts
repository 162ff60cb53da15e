import { expect } from 'chai';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rejectionOf } from '../../test/support/rejection.js';
import { CredentialFiles, CredentialsError } from './credentials.js';
import type { StorageSystem } from './types.js';

const system: StorageSystem = {
  name: 'powerflex-1',
  type: 'powerflex',
  systemID: '7045c4cc20dffc0f',
  endpoint: 'https://10.0.0.1',
  skipCertificateValidation: false,
  credentials: { kind: 'secret', name: 'powerflex-creds' },
};

describe('CredentialFiles', () => {
  let secretsDir: string;
  let clock: number;
  let files: CredentialFiles;
  const password = () => path.join(secretsDir, 'powerflex-creds', 'password');

  beforeEach(async () => {
    secretsDir = await mkdtemp(path.join(tmpdir(), 'credentials-'));
    await mkdir(path.join(secretsDir, 'powerflex-creds'));
    await writeFile(path.join(secretsDir, 'powerflex-creds', 'username'), 'admin\n');
    await writeFile(password(), 'first-password\n');
    clock = 1_000_000;
    files = new CredentialFiles(secretsDir, { revalidateMs: 1000, now: () => clock });
  });

  afterEach(async () => {
    await rm(secretsDir, { recursive: true, force: true });
  });

  it('trusts a read for the revalidation interval, then sees a rotated file', async () => {
    expect(await files.read(system)).to.deep.equal({ username: 'admin', password: 'first-password' });
    await writeFile(password(), 'second-password-longer\n');

    clock += 999; // inside the interval: no file system access, the earlier read stands
    expect((await files.read(system)).password).to.equal('first-password');

    clock += 1;
    expect((await files.read(system)).password).to.equal('second-password-longer');
  });

  it('hands out one credentials object while the files are unchanged (what is derived from it is derived once), a new one once rotated', async () => {
    const first = await files.read(system);
    clock += 5000; // re-checked: same content, same object
    expect(await files.read(system)).to.equal(first);
    await writeFile(password(), 'rotated\n');
    clock += 1000;
    const rotated = await files.read(system);
    expect(rotated).to.not.equal(first);
    expect(rotated).to.deep.equal({ username: 'admin', password: 'rotated' });
    expect(first).to.deep.equal({ username: 'admin', password: 'first-password' });
  });

  it('fails closed, naming the file and never its content, once a removed file is re-checked', async () => {
    await files.read(system);
    await unlink(password());
    clock += 1000;
    const error = await rejectionOf(files.read(system));
    expect(error).to.be.instanceOf(CredentialsError);
    expect(error.message).to.equal(`Storage "powerflex-1": cannot read credentials file ${password()} (ENOENT)`);
    expect(error.message).to.not.include('first-password');
  });
});
