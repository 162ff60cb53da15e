import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Role } from '../../resources/types.js';
import type { TokenClaims } from '../../tokens/types.js';
import { readResponseDecision, readVolumeCreateDecision } from './decisions.js';
import { POLICY_ENTRYPOINTS } from './types.js';
import { WasmPolicyEngine } from './wasmEngine.js';

// These run the real compiled bundle (policies/build/policy.wasm), as the service does.

const claims = (roles: string): TokenClaims => ({
  iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant', group: 'tenant-a', roles, exp: 4102444800,
});

const role = (name: string, pool: string, quota: Role['quota'], systemID = '7045c4cc20dffc0f'): Role => ({
  name, systemType: 'powerflex', systemID, pool, quota,
});

const createInput = (roles: string, volumeSizeInKb: string | number, storagepool = 'bronze') => ({
  claims: claims(roles),
  request: { name: 'k8s-0fc0695995', storagePoolId: 'ae376b0300000000', volumeSizeInKb, volumeType: 'ThinProvisioned' },
  storagepool,
  storagesystemid: '7045c4cc20dffc0f',
  systemtype: 'powerflex',
});

describe('WasmPolicyEngine (real compiled policies)', () => {
  let engine: WasmPolicyEngine;

  beforeEach(async () => {
    engine = await WasmPolicyEngine.load();
    engine.setRoles([
      role('bronze-8g', 'bronze', { kind: 'limited', kib: 8388608 }),
      role('bronze-16g', 'bronze', { kind: 'limited', kib: 16777216 }),
      role('bronze-unlimited', 'bronze', { kind: 'unlimited' }),
      role('silver-8g', 'silver', { kind: 'limited', kib: 8388608 }),
    ]);
  });

  it('has every entrypoint the service evaluates', async () => {
    for (const entrypoint of POLICY_ENTRYPOINTS) {
      expect(() => engine.evaluate(entrypoint, { claims: claims('bronze-8g') }), entrypoint).not.to.throw();
    }
  });

  it('allows a create within a role quota and reports the role with its quota', () => {
    const document = engine.evaluate('karavi/volumes/create', createInput('bronze-8g', '8388608'));
    expect(readVolumeCreateDecision(document)).to.deep.equal({
      allowed: true, reasons: [], permittedRoles: { 'bronze-8g': 8388608 },
    });
  });

  it("denies a create over every claimed role's quota with Dell's message", () => {
    const document = engine.evaluate('karavi/volumes/create', createInput('bronze-8g,bronze-16g', '16777224'));
    expect(readVolumeCreateDecision(document)).to.deep.equal({
      allowed: false,
      reasons: ['no roles in [bronze-8g,bronze-16g] allow the 16777224 Kb request on powerflex/7045c4cc20dffc0f/bronze'],
      permittedRoles: {},
    });
  });

  it('lists every permitting role with its quota, unlimited as 0', () => {
    const document = engine.evaluate('karavi/volumes/create', createInput('bronze-8g,bronze-16g,bronze-unlimited', 8388608));
    expect(readVolumeCreateDecision(document).permittedRoles).to.deep.equal({
      'bronze-8g': 8388608, 'bronze-16g': 16777216, 'bronze-unlimited': 0,
    });
  });

  it('allows any size to an unlimited role', () => {
    const document = engine.evaluate('karavi/volumes/create', createInput('bronze-unlimited', '9999999999999'));
    expect(document.allow).to.equal(true);
  });

  it('denies a pool the roles do not cover', () => {
    const document = engine.evaluate('karavi/volumes/create', createInput('bronze-16g', '8', 'gold'));
    expect(document.allow).to.equal(false);
    expect(document.deny).to.deep.equal(['no roles in [bronze-16g] allow the 8 Kb request on powerflex/7045c4cc20dffc0f/gold']);
  });

  it('denies everything with "no configured roles" before roles are set', async () => {
    const fresh = await WasmPolicyEngine.load();
    const document = fresh.evaluate('karavi/volumes/create', createInput('bronze-8g', '8'));
    expect(document.allow).to.equal(false);
    expect(document.deny).to.include('no configured roles');
  });

  it('takes a new set of roles on the next evaluation, without reloading', () => {
    const input = createInput('bronze-8g', '16777216');
    expect(engine.evaluate('karavi/volumes/create', input).allow).to.equal(false);
    engine.setRoles([role('bronze-8g', 'bronze', { kind: 'limited', kib: 33554432 })]);
    expect(engine.evaluate('karavi/volumes/create', input).permitted_roles).to.deep.equal({ 'bronze-8g': 33554432 });
    engine.setRoles([]);
    expect(engine.evaluate('karavi/volumes/create', input).deny).to.have.members([
      'no configured roles',
      'no roles in [bronze-8g] allow the 16777216 Kb request on powerflex/7045c4cc20dffc0f/bronze',
    ]);
  });

  it('keeps the previous roles when a new set is invalid', () => {
    expect(() => engine.setRoles([
      role('dup', 'bronze', { kind: 'unlimited' }),
      role('dup', 'bronze', { kind: 'limited', kib: 8 }),
    ])).to.throw('role dup is defined twice for powerflex/7045c4cc20dffc0f/bronze');
    expect(engine.evaluate('karavi/volumes/create', createInput('bronze-8g', '8')).allow).to.equal(true);
  });

  it('evaluates PowerMax creates with a numeric size', () => {
    engine.setRoles([{ name: 'pmax', systemType: 'powermax', systemID: '000197900046', pool: 'SRP_1', quota: { kind: 'limited', kib: 2098560 } }]);
    const input = { claims: claims('pmax'), request: { volumeSizeInKb: 2100480 }, storagepool: 'SRP_1', storagesystemid: '000197900046', systemtype: 'powermax' };
    expect(engine.evaluate('karavi/volumes/powermax/create', input).deny).to.deep.equal([
      'no roles in [pmax] allow the 2100480 Kb request on powermax/000197900046/SRP_1',
    ]);
    expect(engine.evaluate('karavi/volumes/powermax/create', { ...input, request: { volumeSizeInKb: 1050240 } }).allow).to.equal(true);
  });

  it('evaluates PowerStore creates against the quota keyed by the systemID', () => {
    engine.setRoles([{ name: 'ps', systemType: 'powerstore', systemID: 'PS4ebb8d4e8488', pool: 'PS4ebb8d4e8488', quota: { kind: 'limited', kib: 10485760 } }]);
    const input = { claims: claims('ps'), request: { size: 8388608 }, storagesystemid: 'PS4ebb8d4e8488', systemtype: 'powerstore' };
    expect(engine.evaluate('karavi/volumes/powerstore/create', input).permitted_roles).to.deep.equal({ ps: 10485760 });
  });

  for (const entrypoint of ['karavi/volumes/delete', 'karavi/volumes/map', 'karavi/volumes/unmap'] as const) {
    it(`${entrypoint}: allows with claims and returns the tenant; denies without claims`, async () => {
      expect(readResponseDecision(engine.evaluate(entrypoint, { claims: claims('bronze-8g') }))).to.deep.equal({
        allowed: true, reason: '', group: 'tenant-a',
      });
      expect(readResponseDecision(engine.evaluate(entrypoint, {}))).to.deep.equal({
        allowed: false, reason: 'missing claims', group: '',
      });
      const noRoles = await WasmPolicyEngine.load();
      expect(readResponseDecision(noRoles.evaluate(entrypoint, { claims: claims('bronze-8g') }))).to.deep.equal({
        allowed: false, reason: 'no role data found', group: 'tenant-a',
      });
    });
  }

  it('karavi/sdc/approve: allows with claims even without roles, denies without claims', async () => {
    const noRoles = await WasmPolicyEngine.load();
    expect(readResponseDecision(noRoles.evaluate('karavi/sdc/approve', { claims: claims('') })).allowed).to.equal(true);
    expect(readResponseDecision(noRoles.evaluate('karavi/sdc/approve', {}))).to.deep.equal({
      allowed: false, reason: 'missing claims', group: '',
    });
  });

  it('karavi/snapshot/create: allows snapshots within quota and names the one that is not', () => {
    const snapshot = (name: string, storagepool: string) => ({ name, volumeSizeInKb: '8388608', storagepool });
    const input = (snapshots: unknown[]) => ({ claims: claims('bronze-8g,silver-8g'), request: snapshots, storagesystemid: '7045c4cc20dffc0f', systemtype: 'powerflex' });

    const allowed = engine.evaluate('karavi/snapshot/create', input([snapshot('sn-1', 'bronze'), snapshot('sn-2', 'silver')]));
    expect(allowed.allow).to.equal(true);
    expect(allowed.permitted_roles).to.deep.equal({
      'sn-1': [{ role: 'bronze-8g', size: 8388608, storagepool: 'bronze' }],
      'sn-2': [{ role: 'silver-8g', size: 8388608, storagepool: 'silver' }],
    });

    const denied = engine.evaluate('karavi/snapshot/create', input([snapshot('sn-1', 'bronze'), snapshot('sn-2', 'gold')]));
    expect(denied.allow).to.equal(false);
    expect(denied.deny).to.deep.equal([
      'no roles in [bronze-8g,silver-8g] allow the 8388608 Kb request on powerflex/7045c4cc20dffc0f/gold for sn-2',
    ]);
  });

  it('rejects an entrypoint the bundle does not have with a clear error', () => {
    expect(() => engine.evaluate('karavi/nope' as never, {})).to.throw(/policy karavi\/nope failed to evaluate: entrypoint karavi\/nope is not valid/);
  });

  it('keeps linear memory bounded over many evaluations (npm-opa-wasm#143)', () => {
    const input = createInput('bronze-8g,bronze-16g', '8388608');
    for (let i = 0; i < 200; i += 1) engine.evaluate('karavi/volumes/create', input);
    const settled = engine.memoryBytes;
    for (let i = 0; i < 5000; i += 1) {
      engine.evaluate('karavi/volumes/create', { ...input, request: { ...input.request, name: `k8s-${i}` } });
      engine.evaluate('karavi/snapshot/create', { ...input, request: [{ name: `sn-${i}`, volumeSizeInKb: '8', storagepool: 'bronze' }] });
    }
    expect(engine.memoryBytes).to.equal(settled);
  });

  describe('at its memory maximum', () => {
    const manyRoles = (count: number): Role[] =>
      Array.from({ length: count }, (_, i) => role(`role-${i}-${'x'.repeat(200)}`, 'bronze', { kind: 'unlimited' }));
    let small: WasmPolicyEngine;
    beforeEach(async () => {
      small = await WasmPolicyEngine.load(undefined, { initial: 8, maximum: 10 });
      small.setRoles([role('bronze-8g', 'bronze', { kind: 'limited', kib: 8388608 })]);
    });

    it('fails an oversized input with an error and keeps serving the next one', () => {
      const huge = createInput('bronze-8g', '8');
      huge.request.name = 'n'.repeat(1024 * 1024);
      expect(() => small.evaluate('karavi/volumes/create', huge)).to.throw(/^policy karavi\/volumes\/create failed to evaluate: /);
      expect(small.evaluate('karavi/volumes/create', createInput('bronze-8g', '8')).allow).to.equal(true);
    });

    it('denies every evaluation after roles fail to load, until roles load again', () => {
      expect(() => small.setRoles(manyRoles(5000))).to.throw(/^policy data failed to load: /);
      expect(() => small.evaluate('karavi/volumes/create', createInput('bronze-8g', '8'))).to.throw(/^policy data is not loaded: /);
      small.setRoles([role('bronze-8g', 'bronze', { kind: 'limited', kib: 8388608 })]);
      expect(small.evaluate('karavi/volumes/create', createInput('bronze-8g', '8')).allow).to.equal(true);
    });
  });

  describe('load', () => {
    let dir: string;
    before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'policy-')); });
    after(async () => { await rm(dir, { recursive: true, force: true }); });

    const loadError = async (wasmPath: string): Promise<string> => {
      try {
        await WasmPolicyEngine.load(wasmPath);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`loading ${wasmPath} succeeded`);
    };

    it('names the file that is not a policy bundle', async () => {
      const bogus = path.join(dir, 'bogus.wasm');
      await writeFile(bogus, 'not wasm');
      expect(await loadError(bogus)).to.match(new RegExp(`^policy bundle ${bogus} could not be loaded: `));
    });

    it('names a missing bundle file', async () => {
      const missing = path.join(dir, 'missing.wasm');
      expect(await loadError(missing)).to.match(new RegExp(`^policy bundle ${missing} could not be loaded: .*ENOENT`));
    });
  });
});
