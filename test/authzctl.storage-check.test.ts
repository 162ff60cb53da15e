// `authzctl storage create` logs in to the array and checks its system ID before it writes anything
// (issue 21; Dell's storage-service does the same): the built CLI against the fake PowerFlex
// gateways (3.x and 4.x), whose certificate it verifies through NODE_EXTRA_CA_CERTS.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FakePowerFlexGateway } from '../src/fakes/powerflex/gateway.js';
import { repoRoot } from '../src/harness/tools.js';
import { runAuthzctl, type CliResult } from './support/authzctl.js';

const SYSTEM = '7045c4cc20dffc0f';
const PASSWORD = 'Gateway-Passw0rd-1';

describe('authzctl storage create checks the array (login, system ID)', function () {
  this.timeout(120_000);
  let dir: string;
  const gateways: FakePowerFlexGateway[] = [];

  before(async function () {
    await promisify(execFile)('npx', ['tsc', '-p', 'src/cli/tsconfig.json'], { cwd: repoRoot });
    dir = await mkdtemp(path.join(tmpdir(), 'storage-check-'));
    for (const version of ['3.6', '4.5'] as const) gateways.push(await FakePowerFlexGateway.start({ systemId: SYSTEM, username: 'admin', password: PASSWORD, version }));
    // One CA file per gateway: the fakes' certificates share a subject name, which one trust store cannot tell apart.
    for (const [index, gateway] of gateways.entries()) await writeFile(path.join(dir, `ca-${index}.pem`), gateway.ca);
  });

  after(async function () {
    for (const gateway of gateways) await gateway.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function create(name: string, gateway: FakePowerFlexGateway, systemID: string, password: string, extra: string[] = []): Promise<CliResult & { resources: string; secrets: string }> {
    const resources = path.join(dir, name, 'resources');
    const secrets = path.join(dir, name, 'secrets');
    await mkdir(resources, { recursive: true });
    const result = await runAuthzctl(
      ['--resources-dir', resources, 'storage', 'create', '--name', name, '--type', 'powerflex', '--endpoint', gateway.url, '--system-id', systemID, '--username', 'admin', '--password-stdin', '--secrets-dir', secrets, ...extra],
      { stdin: `${password}\n`, env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, `ca-${gateways.indexOf(gateway)}.pem`) } },
    );
    return { ...result, resources, secrets };
  }

  for (const [index, generation] of [[0, '3.x'], [1, '4.x']] as const) {
    it(`PowerFlex ${generation}: a wrong password fails naming the credentials, and writes nothing`, async function () {
      const result = await create(`wrong-password-${index}`, gateways[index]!, SYSTEM, 'not-the-password');
      expect(result.code, result.stdout).to.equal(1);
      expect(result.stderr).to.match(/Storage "wrong-password-\d" not saved, the array check failed: wrong username or password: the PowerFlex gateway at https:\/\/127\.0\.0\.1:\d+ refused the login of user "admin"/);
      expect(result.stderr).to.not.contain('not-the-password');
      expect(await readdir(result.resources)).to.deep.equal([]);
      expect(existsSync(result.secrets), 'no credentials written').to.equal(false);
    });

    it(`PowerFlex ${generation}: a wrong system ID fails naming the system the gateway serves`, async function () {
      const result = await create(`wrong-system-${index}`, gateways[index]!, '0000111122223333', PASSWORD);
      expect(result.code, result.stdout).to.equal(1);
      expect(result.stderr).to.contain(`wrong system ID: the PowerFlex gateway at ${gateways[index]!.url} serves "${SYSTEM}", not "0000111122223333"`);
      expect(await readdir(result.resources)).to.deep.equal([]);
    });

    it(`PowerFlex ${generation}: the right password and system ID succeed`, async function () {
      const result = await create(`right-${index}`, gateways[index]!, SYSTEM, PASSWORD);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stderr).to.contain(`system ID ${SYSTEM} confirmed`);
      expect(await readdir(result.resources)).to.deep.equal([`storage-right-${index}.yaml`]);
    });
  }

  it('--skip-array-check stores a system that cannot be checked from here', async function () {
    const result = await create('offline', gateways[0]!, '0000111122223333', 'not-the-password', ['--skip-array-check']);
    expect(result.code, result.stderr).to.equal(0);
    expect(await readdir(result.resources)).to.deep.equal(['storage-offline.yaml']);
  });
});
