// The Rego policies under the real OPA CLI, and the committed wasm bundle against its sources:
// `npm test` fails here when someone edits policies/*.rego without running npm run policies:build.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { POLICY_ENTRYPOINTS } from '../src/pipeline/policy/types.js';
import { opaBin, repoRoot } from '../src/harness/tools.js';

const run = promisify(execFile);
const policiesDir = path.join(repoRoot, 'policies');
const STALE = 'policies/build is stale: run npm run policies:build';

interface BundleManifest {
  opaVersion: string;
  entrypoints: string[];
  sources: string[];
  sourcesSha256: string;
  wasmSha256: string;
}

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/** The policy sources (tests excluded), in byte order like the build script's `LC_ALL=C ls`. */
async function policySources(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.rego') && !name.endsWith('_test.rego'));
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Same digest as scripts/build-policies.sh: sha256 of the `sha256sum <sources>` listing. */
async function sourcesSha256(dir: string): Promise<string> {
  let listing = '';
  for (const name of await policySources(dir)) listing += `${sha256(await readFile(path.join(dir, name)))}  ${name}\n`;
  return sha256(listing);
}

describe('policies', () => {
  it('pass `opa test policies/` with the real OPA CLI', async () => {
    try {
      const { stdout } = await run(opaBin, ['test', policiesDir], { cwd: repoRoot });
      expect(stdout).to.match(/^PASS: \d+\/\d+$/m);
    } catch (error) {
      const { stdout = '', stderr = '', message } = error as { stdout?: string; stderr?: string; message: string };
      expect.fail(`opa test policies/ failed:\n${stdout}${stderr || message}`);
    }
  });

  describe('committed bundle (policies/build)', () => {
    let manifest: BundleManifest;
    before(async () => {
      manifest = JSON.parse(await readFile(path.join(policiesDir, 'build', 'manifest.json'), 'utf8')) as BundleManifest;
    });

    it('is built from the current policies/*.rego', async () => {
      expect(await policySources(policiesDir), STALE).to.deep.equal(manifest.sources);
      expect(await sourcesSha256(policiesDir), STALE).to.equal(manifest.sourcesSha256);
    });

    it('is the policy.wasm the manifest describes', async () => {
      expect(sha256(await readFile(path.join(policiesDir, 'build', 'policy.wasm'))), STALE).to.equal(manifest.wasmSha256);
    });

    it('exports exactly the entrypoints the service evaluates', () => {
      expect(manifest.entrypoints, 'scripts/build-policies.sh ENTRYPOINTS vs POLICY_ENTRYPOINTS').to.have.members([...POLICY_ENTRYPOINTS]);
    });
  });
});
