// `storage-authz sidecar` as an operator starts it: Dell's environment variables work, and bad input
// stops it at once with an error that names the option, file or field (exit code 2), before any
// Envoy is started.
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { start } from '../src/harness/process.js';
import { repoRoot } from '../src/harness/tools.js';

async function runSidecarCommand(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  // Only what the test sets: none of Dell's variables leak in from the environment running the tests.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !['PROXY_HOST', 'PLUGIN_IDENTIFIER', 'SKIP_CERTIFICATE_VALIDATION', 'INSECURE'].includes(name)),
  );
  const started = start(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/main.ts'), 'sidecar', ...args], {
    cwd: repoRoot,
    env: { ...inherited, ...env },
  });
  const code = await new Promise<number | null>((resolve) => {
    if (started.child.exitCode !== null) resolve(started.child.exitCode);
    else started.child.once('exit', (exitCode) => resolve(exitCode));
  });
  return { code, output: started.output() };
}

describe('storage-authz sidecar command', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-command-'));
    await writeFile(path.join(dir, 'config'), '- username: placeholder\n  endpoint: https://localhost:9400\n');
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('requires the proxy host', async () => {
    const { code, output } = await runSidecarCommand(['--plugin', 'powerflex'], {});
    expect(code).to.not.equal(0);
    expect(output).to.include("required option '--proxy-host <host[:port]>' not specified");
  });

  it("reads Dell's environment variables and names the file and field of a bad driver config", async () => {
    const { code, output } = await runSidecarCommand(
      ['--driver-config', path.join(dir, 'config'), '--tokens-dir', dir, '--work-dir', path.join(dir, 'work')],
      { PROXY_HOST: 'csm-authorization.example.com', PLUGIN_IDENTIFIER: 'powerflex', SKIP_CERTIFICATE_VALIDATION: 'true' },
    );
    expect(code).to.equal(2);
    expect(output).to.include(`sidecar cannot start: ${path.join(dir, 'config')}: list[0]: \\"systemID\\" is required`);
  });

  it('refuses a drain timeout that is not a whole number of milliseconds, naming the option', async () => {
    const { code, output } = await runSidecarCommand(['--insecure', '--driver-config', path.join(dir, 'config'), '--drain-timeout-ms', '20s'], {
      PROXY_HOST: 'edge:8443', PLUGIN_IDENTIFIER: 'powerflex',
    });
    expect(code).to.not.equal(0);
    expect(output).to.include("option '--drain-timeout-ms <ms>' argument '20s' is invalid. not a whole number of milliseconds");
  });

  it('refuses an unknown plugin identifier', async () => {
    const { code, output } = await runSidecarCommand(['--insecure', '--driver-config', path.join(dir, 'config')], {
      PROXY_HOST: 'edge:8443', PLUGIN_IDENTIFIER: 'unity',
    });
    expect(code).to.equal(2);
    expect(output).to.include('plugin identifier \\"unity\\" is not one of');
  });

  it('--identity serviceaccount needs --token-file, and a missing projected token stops it', async () => {
    const env = { PROXY_HOST: 'edge:8443', PLUGIN_IDENTIFIER: 'powerflex' };
    const alone = await runSidecarCommand(['--insecure', '--identity', 'serviceaccount'], env);
    expect(alone.code).to.equal(2);
    expect(alone.output).to.include('--identity serviceaccount and --token-file <projected token> go together');
    const missing = path.join(dir, 'projected', 'token');
    const config = `- username: placeholder\n  endpoint: https://localhost:9400\n  systemID: 542a2d5f5122210f\n`;
    await writeFile(path.join(dir, 'good-config'), config);
    const absent = await runSidecarCommand(['--insecure', '--driver-config', path.join(dir, 'good-config'), '--work-dir', path.join(dir, 'work'), '--identity', 'serviceaccount', '--token-file', missing], env);
    expect(absent.code).to.equal(2);
    expect(absent.output).to.include(`service-account token ${missing}: ENOENT (is the projected volume mounted?)`);
  });
});
