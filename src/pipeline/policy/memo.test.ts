import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../harness/tools.js';
import type { Role } from '../../resources/types.js';
import { readVolumeCreateDecision } from './decisions.js';
import { MEMOISED_INPUTS, MemoisedPolicy, projectInput } from './memo.js';
import type { PolicyEngine, PolicyEntrypoint } from './types.js';
import { WasmPolicyEngine } from './wasmEngine.js';

const role = (name: string, pool: string, kib: number): Role => ({ name, systemType: 'powerflex', systemID: '7045c4cc20dffc0f', pool, quota: { kind: 'limited', kib } });

const createInput = (roles: string, volumeSizeInKb: string | number, name = 'k8s-0fc0695995', exp = 4102444800) => ({
  claims: { iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant', group: 'tenant-a', roles, exp },
  request: { name, storagePoolId: 'ae376b0300000000', volumeSizeInKb },
  storagepool: 'bronze',
  storagesystemid: '7045c4cc20dffc0f',
  systemtype: 'powerflex',
});

/** Counts evaluations reaching the real engine. */
class CountingEngine implements PolicyEngine {
  evaluations = 0;
  constructor(private readonly engine: PolicyEngine) {}
  setRoles(roles: Iterable<Role>): void {
    this.engine.setRoles(roles);
  }
  evaluate(entrypoint: PolicyEntrypoint, input: unknown): Record<string, unknown> {
    this.evaluations += 1;
    return this.engine.evaluate(entrypoint, input);
  }
}

describe('MemoisedPolicy (real compiled policies)', () => {
  let counting: CountingEngine;
  let policy: MemoisedPolicy;

  beforeEach(async () => {
    counting = new CountingEngine(await WasmPolicyEngine.load());
    policy = new MemoisedPolicy(counting, 8);
    policy.setRoles([role('bronze-8g', 'bronze', 8388608)]);
  });

  it('evaluates a create question once, whatever the volume name or token times', () => {
    const first = readVolumeCreateDecision(policy.evaluate('karavi/volumes/create', createInput('bronze-8g', '8388608', 'vol-1')));
    const again = readVolumeCreateDecision(policy.evaluate('karavi/volumes/create', createInput('bronze-8g', '8388608', 'vol-2', 4102444900)));
    expect(first).to.deep.equal({ allowed: true, reasons: [], permittedRoles: { 'bronze-8g': 8388608 } });
    expect(again).to.deep.equal(first);
    expect(counting.evaluations).to.equal(1);
  });

  it('asks again for another size, another role set, or a number where a string was sent', () => {
    policy.evaluate('karavi/volumes/create', createInput('bronze-8g', '8388608'));
    const over = readVolumeCreateDecision(policy.evaluate('karavi/volumes/create', createInput('bronze-8g', '8388616')));
    expect(over.allowed).to.equal(false);
    policy.evaluate('karavi/volumes/create', createInput('bronze-8g,other', '8388608'));
    policy.evaluate('karavi/volumes/create', createInput('bronze-8g', 8388608));
    expect(counting.evaluations).to.equal(4);
  });

  it('forgets every answer when the roles change: a lowered quota refuses at once', () => {
    expect(readVolumeCreateDecision(policy.evaluate('karavi/volumes/create', createInput('bronze-8g', '8388608'))).allowed).to.equal(true);
    policy.setRoles([role('bronze-8g', 'bronze', 4194304)]);
    expect(policy.size).to.equal(0);
    expect(readVolumeCreateDecision(policy.evaluate('karavi/volumes/create', createInput('bronze-8g', '8388608'))).allowed).to.equal(false);
  });

  it('forgets the old answers even when the new roles fail to load (the engine then refuses)', () => {
    policy.evaluate('karavi/volumes/create', createInput('bronze-8g', '8388608'));
    const failing: PolicyEngine = {
      setRoles: () => {
        throw new Error('policy data failed to load');
      },
      evaluate: () => {
        throw new Error('policy data is not loaded');
      },
    };
    const memo = new MemoisedPolicy(failing);
    expect(() => memo.setRoles([])).to.throw('failed to load');
    expect(() => memo.evaluate('karavi/volumes/create', createInput('bronze-8g', '8388608'))).to.throw('not loaded');
  });

  it('stays bounded', () => {
    for (let size = 1; size <= 50; size += 1) policy.evaluate('karavi/volumes/create', createInput('bronze-8g', String(size)));
    expect(policy.size).to.be.at.most(8);
  });

  it('passes packages it does not memoise through untouched, every time', () => {
    const input = { claims: createInput('bronze-8g', '1').claims };
    policy.evaluate('karavi/volumes/delete', input);
    policy.evaluate('karavi/volumes/delete', input);
    expect(counting.evaluations).to.equal(2);
  });

  it('hands out remembered documents frozen', () => {
    policy.evaluate('karavi/volumes/create', createInput('bronze-8g', '8388608'));
    const document = policy.evaluate('karavi/volumes/create', createInput('bronze-8g', '8388608'));
    expect(Object.isFrozen(document)).to.equal(true);
    expect(Object.isFrozen(document.permitted_roles)).to.equal(true);
  });
});

describe('memoised packages read nothing outside their memo key', () => {
  const regoOf: Record<string, string[]> = {
    'karavi/volumes/create': ['volumes_create.rego', 'common.rego'],
    // Re-exports karavi.volumes.create.
    'karavi/volumes/powermax/create': ['volumes_powermax_create.rego', 'volumes_create.rego', 'common.rego'],
    'karavi/volumes/powerstore/create': ['volumes_powerstore_create.rego', 'common.rego'],
  };

  for (const [entrypoint, fields] of Object.entries(MEMOISED_INPUTS)) {
    it(`${entrypoint}: every input field its Rego reads is in the key`, () => {
      const files = regoOf[entrypoint];
      expect(files, `name the Rego files of ${entrypoint} here`).to.be.an('array');
      const keyed = new Set(fields!.map((p) => p.join('.')));
      const read = new Set<string>();
      for (const file of files!) {
        const source = readFileSync(path.join(repoRoot, 'policies', file), 'utf8').replace(/#.*$/gm, '');
        for (const match of source.matchAll(/\binput((?:\.[A-Za-z_]\w*)*)/g)) read.add(match[1]!.slice(1));
        for (const match of source.matchAll(/object\.get\(input, \[([^\]]*)\]/g)) read.add(match[1]!.split(',').map((s) => s.trim().replace(/"/g, '')).join('.'));
      }
      read.delete(''); // the object.get(input, …) call itself
      for (const field of read) expect(keyed.has(field), `${entrypoint} reads input.${field}, which the memo key leaves out`).to.equal(true);
    });
  }

  it('projects only the listed fields and keeps absent ones absent', () => {
    expect(projectInput({ a: { b: 1, c: 2 }, d: 3 }, [['a', 'b'], ['e'], ['a', 'x']])).to.deep.equal({ a: { b: 1 } });
  });
});
