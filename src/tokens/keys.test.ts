import { expect } from 'chai';
import { mkdtemp, mkdir, rm, symlink, writeFile, rename, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rejectionOf } from '../../test/support/rejection.js';
import { silentLogger } from '../telemetry/log.js';
import { assertStrongSecret, loadSigningKeys, SigningKeyError, watchSigningKeys, type WatchedSigningKeys } from './keys.js';
import type { SigningKeySet } from './types.js';

const STRONG = 'q3R9v8XkPz2LmN7wYt5Hs1JdFg6Bc4Ae0KuViOp';
const STRONG_2 = 'Zx8Cv7Bn6Ml5Kj4Hg3Fd2Sa1Qw9Er0TyUiOpAsDf';

describe('tokens: signing keys', () => {
  let dir: string;
  let watched: WatchedSigningKeys | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'keys-'));
  });
  afterEach(async () => {
    watched?.close();
    watched = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses weak secrets with an error naming what was checked, never the secret', () => {
    for (const weak of ['secret', 'changeme', 'short-but-random-9f8e', 'secretsecretsecretsecretsecretsecret', 'x'.repeat(64)]) {
      expect(() => assertStrongSecret(weak, 'admin token secret'), weak)
        .to.throw(SigningKeyError, /^admin token secret: the signing secret (is a well-known default|has \d+ bytes|is a short pattern)/)
        .with.property('message').that.does.not.contain(weak.length > 6 ? weak : 'ǂ');
    }
    expect(() => assertStrongSecret(STRONG, 'x')).not.to.throw();
  });

  it('loads one key per file, trimming one trailing newline, skipping Secret-mount dotfiles', async () => {
    // The layout kubelet writes for a Secret volume: ..data -> ..<timestamp>/, kid -> ..data/kid
    await mkdir(path.join(dir, '..2024_01_01'));
    await writeFile(path.join(dir, '..2024_01_01', 'k1'), `${STRONG}\n`);
    await writeFile(path.join(dir, '..2024_01_01', 'k2'), STRONG_2);
    await symlink('..2024_01_01', path.join(dir, '..data'));
    await symlink('..data/k1', path.join(dir, 'k1'));
    await symlink('..data/k2', path.join(dir, 'k2'));
    const keys = await loadSigningKeys(dir, 'k1');
    expect(keys.defaultKid).to.equal('k1');
    expect([...keys.keys.keys()]).to.deep.equal(['k1', 'k2']);
    expect(Buffer.from(keys.keys.get('k1')!).toString()).to.equal(STRONG);
  });

  it('rejects a directory with a weak key (naming the kid) or without the default key', async () => {
    await writeFile(path.join(dir, 'k1'), STRONG);
    await writeFile(path.join(dir, 'legacy'), 'secret\n');
    expect((await rejectionOf(loadSigningKeys(dir, 'k1'))).message).to.match(/signing key "legacy".*well-known default/);
    await unlink(path.join(dir, 'legacy'));
    expect((await rejectionOf(loadSigningKeys(dir, 'k9'))).message).to.match(/default key "k9" is not a file .*found: k1/);
    expect((await rejectionOf(loadSigningKeys(path.join(dir, 'missing'), 'k1'))).message).to.match(/cannot read directory .*ENOENT/);
  });

  it('picks up an added key and a removed key without restart, and keeps the last good set on a bad change', async () => {
    await writeFile(path.join(dir, 'k1'), STRONG);
    const rejected: Error[] = [];
    watched = await watchSigningKeys(dir, 'k1', { logger: silentLogger, debounceMs: 20, onRejected: (e) => rejected.push(e) });
    const nextChange = () => new Promise<SigningKeySet>((resolve) => {
      const off = watched!.onChange((keys) => { off(); resolve(keys); });
    });

    let changed = nextChange();
    // Written as editors and kubectl do: a temp file renamed into place.
    await writeFile(path.join(dir, '.k2.tmp'), STRONG_2);
    await rename(path.join(dir, '.k2.tmp'), path.join(dir, 'k2'));
    expect([...(await changed).keys.keys()]).to.deep.equal(['k1', 'k2']);

    await writeFile(path.join(dir, 'weak'), 'password');
    expect(await watched.reload()).to.equal(false);
    expect(rejected.at(-1)?.message).to.match(/signing key "weak"/);
    expect([...watched.current().keys.keys()]).to.deep.equal(['k1', 'k2']);

    changed = nextChange();
    await unlink(path.join(dir, 'weak'));
    await unlink(path.join(dir, 'k2'));
    expect([...(await changed).keys.keys()]).to.deep.equal(['k1']);
  });
});
