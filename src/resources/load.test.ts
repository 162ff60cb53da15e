import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { roleYaml as role, STORAGE_YAML as STORAGE, tenantYaml as tenant } from '../../test/support/resourceYaml.js';
import { repoRoot } from '../harness/tools.js';
import { formatResourceError, type ResourceError } from './errors.js';
import { loadResourceDirectory } from './load.js';
import { storageKey } from './types.js';

describe('resources: loading a directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'resources-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function rejected(files: Record<string, string>): Promise<string[]> {
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
    const result = await loadResourceDirectory(dir, 1);
    if (result.ok) throw new Error('expected the directory to be rejected');
    return result.errors.map((e: ResourceError) => formatResourceError(e));
  }

  it('loads the shipped example configuration', async () => {
    const result = await loadResourceDirectory(path.join(repoRoot, 'examples/resources'), 7);
    if (!result.ok) throw new Error(result.errors.map(formatResourceError).join('\n'));
    const { snapshot } = result;
    expect(snapshot.generation).to.equal(7);
    expect(snapshot.tenants.get('tenant-a')).to.deep.equal({ name: 'tenant-a', roles: ['bronze-100g'], approveSdc: true, revoke: false, volumePrefix: 'tna' });
    expect(snapshot.roles.get('bronze-100g')?.quota).to.deep.equal({ kind: 'limited', kib: 100 * 1024 * 1024 });
    expect(snapshot.storage.get(storageKey('powerflex', '7045c4cc20dffc0f'))?.credentials).to.deep.equal({ kind: 'secret', name: 'powerflex-creds' });
  });

  it('reads several documents per file, skips non-YAML files, dotfiles and empty documents', async () => {
    await writeFile(path.join(dir, 'all.yml'), `---\n${STORAGE}---\n${role('gold', '1TiB')}---\n${tenant('t1', 'gold')}---\n`);
    await writeFile(path.join(dir, 'README.md'), 'not: [yaml');
    await writeFile(path.join(dir, '.all.yml.swp'), 'garbage: [');
    await writeFile(path.join(dir, 'empty.yaml'), '# nothing yet\n');
    const result = await loadResourceDirectory(dir, 1);
    expect(result.ok && [...result.snapshot.tenants.keys(), ...result.snapshot.roles.keys()]).to.deep.equal(['t1', 'gold']);
  });

  it('names file, object and field of an invalid value', async () => {
    expect(await rejected({ 'storage.yaml': STORAGE, 'roles.yaml': role('gold', '100GB7') })).to.deep.equal([
      'roles.yaml: CSMRole "gold": spec.quota: "100GB7" is not a size (e.g. 100GiB, 10TiB, 500MiB, 10GB, or 0 for unlimited)',
    ]);
  });

  it('names the line of a YAML syntax error and the document of a kind-less one', async () => {
    const errors = await rejected({ 'broken.yaml': 'kind: CSMRole\nmetadata: {name: x}\nkind: Storage\n', 'multi.yaml': `${STORAGE}---\n- just\n- a list\n` });
    expect(errors[0]).to.match(/^broken\.yaml: line 3: invalid YAML: Map keys must be unique/);
    expect(errors[1]).to.equal('multi.yaml: document 2: must be an object with apiVersion, kind, metadata and spec');
  });

  it('rejects references to missing roles and storage, and duplicates', async () => {
    const errors = await rejected({
      'a.yaml': `${STORAGE}---\n${role('gold', '1TiB')}---\n${role('orphan', '1TiB', 'ffff')}---\n${tenant('t1', 'gold,platinum')}`,
      'b.yaml': `${role('gold', '2TiB')}---\n${STORAGE.replace('powerflex-1', 'powerflex-again')}`,
    });
    expect(errors).to.have.members([
      'b.yaml: CSMRole "gold": metadata.name: CSMRole "gold" is already defined in a.yaml',
      'b.yaml: Storage "powerflex-again": spec.systemID: powerflex system "7045c4cc20dffc0f" is already defined by Storage "powerflex-1" in a.yaml',
      'a.yaml: CSMRole "orphan": spec.systemID: no Storage of type powerflex has systemID "ffff"',
      'a.yaml: CSMTenant "t1": spec.roles: role "platinum" does not exist (no CSMRole named "platinum")',
    ]);
  });

  it('accepts tenant clusters\' identities and refuses one service account trusted by two tenants', async () => {
    const trust = (subjects: string) => `  identities:\n  - issuer: https://cluster-a.example\n    audiences: [storage-authz]\n    jwksUri: https://cluster-a.example/openid/v1/jwks\n    subjects: [${subjects}]\n`;
    const trusting = (name: string, subjects: string) => `${tenant(name, 'gold').replace('spec: {roles: "gold", approveSdc: true, revoke: false}', 'spec:\n  roles: gold\n  approveSdc: true\n  revoke: false')}${trust(subjects)}`;
    await writeFile(path.join(dir, 'ok.yaml'), `${STORAGE}---\n${role('gold', '1TiB')}---\n${trusting('t1', 'system:serviceaccount:vxflexos:vxflexos-controller')}`);
    const loaded = await loadResourceDirectory(dir, 1);
    expect(loaded.ok && loaded.snapshot.tenants.get('t1')?.identities).to.deep.equal([
      { issuer: 'https://cluster-a.example', audiences: ['storage-authz'], keys: { kind: 'remote', jwksUri: 'https://cluster-a.example/openid/v1/jwks' }, subjects: ['system:serviceaccount:vxflexos:vxflexos-controller'] },
    ]);
    await writeFile(path.join(dir, 'second.yaml'), trusting('t2', 'system:serviceaccount:vxflexos:vxflexos-node, system:serviceaccount:vxflexos:vxflexos-controller'));
    expect(await rejected({})).to.deep.equal([
      'second.yaml: CSMTenant "t2": spec.identities.0.subjects: "system:serviceaccount:vxflexos:vxflexos-controller" of issuer "https://cluster-a.example" is already trusted by CSMTenant "t1"',
    ]);
  });

  it('reports a missing directory', async () => {
    const result = await loadResourceDirectory(path.join(dir, 'nope'), 1);
    expect(!result.ok && formatResourceError(result.errors[0]!)).to.match(/nope: cannot read the resources directory \(ENOENT\)$/);
  });
});
