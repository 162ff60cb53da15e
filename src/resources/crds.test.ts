import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../harness/tools.js';
import { crdFiles, customResourceDefinition } from './crds.js';

describe('CRDs generated from the JSON Schemas', () => {
  it('the committed charts/storage-authz/crds/ are what the schemas generate (run `npm run crds` after a schema change)', async () => {
    const dir = path.join(repoRoot, 'charts/storage-authz/crds');
    const generated = crdFiles();
    expect((await readdir(dir)).sort()).to.deep.equal([...generated.keys()].sort());
    for (const [name, text] of generated) expect(await readFile(path.join(dir, name), 'utf8'), name).to.equal(text);
  });

  it("carries what OpenAPI cannot say as CEL: a CSMRole needs a pool unless it is for PowerStore", () => {
    type Crd = { spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: Record<string, Record<string, unknown>> } } } }[] } };
    const spec = (customResourceDefinition('CSMRole') as unknown as Crd).spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
    expect(spec['x-kubernetes-validations']).to.deep.equal([{ rule: "self.systemType == 'powerstore' || (has(self.pool))", message: 'pool is required unless systemType is powerstore' }]);
    expect(spec.properties!.quota).to.include({ 'x-kubernetes-int-or-string': true });
  });
});
