// authzctl as a storage admin uses it: the BUILT binary run as a subprocess against the admin API
// (HTTPS, real verifier, key files, DirectoryResources watching the directory the CLI writes, memory
// ledger), and once against `storage-authz serve` itself. Every step's success line, every typo's
// error and exit code, and — over the whole suite — no output carrying a secret.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { decodeJwt } from 'jose';
import { MemoryLedger } from '../src/ledger/memory/memoryLedger.js';
import { DirectoryResources } from '../src/resources/directory.js';
import { parseServeConfig } from '../src/serve/config.js';
import { startService, type RunningService } from '../src/serve/service.js';
import { silentLogger } from '../src/telemetry/log.js';
import { loadSigningKeys } from '../src/tokens/keys.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import type { SigningKeySet } from '../src/tokens/types.js';
import { TokenVerifier } from '../src/tokens/verify.js';
import { ADMIN_FIXTURE } from './support/adminFixtures.js';
import { runAuthzctl, type CliResult } from './support/authzctl.js';
import { startAdminApi, type RunningAdminApi } from './support/adminApi.js';
import { freePort } from '../src/harness/ports.js';
import { repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';

const SYSTEM_ID = ADMIN_FIXTURE.systemID;


describe('authzctl (built binary)', function () {
  let dir: string;
  let resourcesDir: string;
  let secretsDir: string;
  let keysDir: string;
  let adminTokenFile: string;
  let keys: SigningKeySet;
  let verifier: TokenVerifier;
  let resources: DirectoryResources;
  let api: RunningAdminApi;
  let ledger: MemoryLedger;
  let caFile: string;
  /** Everything any authzctl run printed in this suite. */
  const transcript: string[] = [];

  const authzctl = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> =>
    runAuthzctl(args, { stdin: options.stdin, env: { ...process.env, ...options.env }, transcript });


  /** authzctl with the resources directory and the admin API connection of this suite. */
  const admin = (args: string[], options?: { stdin?: string }) =>
    authzctl(['--resources-dir', resourcesDir, '--addr', api.addr, '--ca', caFile, '--admin-token', adminTokenFile, ...args], options);

  function expectOk(result: CliResult): void {
    expect(result.code, `exit code; stderr: ${result.stderr}`).to.equal(0);
  }

  function expectFailure(result: CliResult, message: RegExp): void {
    expect(result.code, `exit code; stdout: ${result.stdout}`).to.equal(1);
    expect(result.stderr).to.match(message);
  }

  before(async function () {
    this.timeout(120_000);
    // Only the CLI and what it imports: other modules may be mid-change while this suite runs.
    await promisify(execFile)('npx', ['tsc', '-p', 'src/cli/tsconfig.json'], { cwd: repoRoot });
    dir = await mkdtemp(path.join(tmpdir(), 'authzctl-'));
    resourcesDir = path.join(dir, 'resources');
    secretsDir = path.join(dir, 'secrets');
    keysDir = path.join(dir, 'keys');
    adminTokenFile = path.join(dir, 'admin-token.yaml');
    caFile = path.join(dir, 'ca.pem');
    await mkdir(resourcesDir);
    await mkdir(keysDir);
    await writeFile(path.join(keysDir, ADMIN_FIXTURE.kid), `${ADMIN_FIXTURE.signingSecret}\n`, { mode: 0o600 });
    keys = await loadSigningKeys(keysDir, ADMIN_FIXTURE.kid);
    verifier = new TokenVerifier({ keys: () => keys });
    resources = await DirectoryResources.open(resourcesDir, { secretsDir, logger: silentLogger, debounceMs: 20 });
    ledger = new MemoryLedger();
    api = await startAdminApi({ resources, ledger, verifier, keys: () => keys, logger: silentLogger });
    await writeFile(caFile, api.caPem);
  });

  after(async function () {
    await api?.close();
    resources?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe("a storage admin's first run", function () {
    it('admin token: signs an admin token pair from the service key file and prints it as YAML', async function () {
      const result = await authzctl(['admin', 'token', '--name', 'alice', '--secret-file', path.join(keysDir, ADMIN_FIXTURE.kid)]);
      expectOk(result);
      expect(result.stderr).to.match(/^Admin token for "alice" signed with key "k1" \(access 1m0s, refresh 720h0m0s\)/);
      const pair = parse(result.stdout) as { access: string; refresh: string };
      expect(await verifier.verify(pair.access)).to.include({ sub: 'csm-admin', group: 'alice', roles: '' });
      expect(await verifier.verify(pair.refresh, 'refresh')).to.include({ sub: 'csm-admin', group: 'alice' });
      await writeFile(adminTokenFile, result.stdout);
    });

    it('admin token: reads the secret from stdin, and refuses a default secret or one given on the command line', async function () {
      expectOk(await authzctl(['admin', 'token', '--kid', ADMIN_FIXTURE.kid], { stdin: `${ADMIN_FIXTURE.signingSecret}\n` }));
      expectFailure(await authzctl(['admin', 'token', '--kid', 'k1'], { stdin: 'secret\n' }), /^error: admin token: the signing secret is a well-known default/);
      expectFailure(await authzctl(['admin', 'token', '--kid', 'k1'], { stdin: 'short\n' }), /at least 32 are required/);
      const argv = await authzctl(['admin', 'token', '-s', ADMIN_FIXTURE.signingSecret]);
      expectFailure(argv, /^error: secrets are not accepted on the command line/);
      expect(argv.stdout).to.equal('');
    });

    it('storage create: writes the Storage object and its credentials files, the password read from stdin', async function () {
      const result = await admin(
        ['storage', 'create', '--type', 'powerflex', '--endpoint', 'https://10.0.0.1', '--system-id', SYSTEM_ID, '--username', ADMIN_FIXTURE.arrayUsername, '--password-stdin', '--secrets-dir', secretsDir, '--skip-array-check'],
        { stdin: `${ADMIN_FIXTURE.arrayPassword}\n` },
      );
      expectOk(result);
      const name = `powerflex-${SYSTEM_ID}`;
      expect(result.stdout).to.include(`credentials for Storage "${name}" written to ${path.join(secretsDir, `${name}-credentials`)}`);
      expect(result.stdout).to.include(`Storage "${name}" created in ${path.join(resourcesDir, `storage-${name}.yaml`)}`);
      expect(await readFile(path.join(secretsDir, `${name}-credentials`, 'password'), 'utf8')).to.equal(ADMIN_FIXTURE.arrayPassword);
      await waitFor(() => resources.current().storage.size === 1, 'the service to load the new Storage');
      const [system] = resources.current().storage.values();
      expect(await resources.credentials(system!)).to.deep.equal({ username: ADMIN_FIXTURE.arrayUsername, password: ADMIN_FIXTURE.arrayPassword });
    });

    it('storage create: a typo in the type is an error naming the field, and writes nothing', async function () {
      const before = await readdir(resourcesDir);
      const result = await admin(
        ['storage', 'create', '--name', 'second', '--type', 'powerflx', '--endpoint', 'https://10.0.0.2', '--system-id', 'abc', '--username', 'u', '--password-stdin', '--secrets-dir', secretsDir],
        { stdin: 'pw\n' },
      );
      expectFailure(result, /^error: invalid Storage "second", nothing was written:\n {2}spec\.type: "powerflx" is not one of powerflex, powermax, powerscale, powerstore/);
      expect(await readdir(resourcesDir)).to.deep.equal(before);
      expect(existsSync(path.join(secretsDir, 'second-credentials'))).to.equal(false);
    });

    it('storage get/list: show where the credentials are, never the password', async function () {
      const list = await admin(['storage', 'list']);
      expectOk(list);
      expect(list.stdout).to.match(/^NAME\s+TYPE\s+SYSTEM-ID\s+ENDPOINT\s+CREDENTIALS\s+VERIFY-TLS\n/);
      expect(list.stdout).to.include(`secret/powerflex-${SYSTEM_ID}-credentials`);
      for (const format of ['yaml', 'json']) {
        const got = await admin(['-o', format, 'storage', 'get', '--name', `powerflex-${SYSTEM_ID}`]);
        expectOk(got);
        expect(got.stdout).to.include(SYSTEM_ID);
      }
      const onlyPowerMax = await admin(['storage', 'list', '--type', 'powermax']);
      expectOk(onlyPowerMax);
      expect(onlyPowerMax.stdout).to.equal('');
      expect(onlyPowerMax.stderr).to.include('No Storage objects.');
      expect((await admin(['storage', 'list', '--type', 'powerflex'])).stdout).to.include(`powerflex-${SYSTEM_ID}`);
    });

    it("storage update --max-concurrent-requests: the array's backpressure limit reaches the service; 0 is refused and changes nothing", async function () {
      const name = `powerflex-${SYSTEM_ID}`;
      expectFailure(await admin(['storage', 'update', '--name', name, '--max-concurrent-requests', '0']), /--max-concurrent-requests <n>' argument '0' is invalid\. a whole number, at least 1/);
      expect([...resources.current().storage.values()][0]?.maxConcurrentRequests).to.equal(undefined);
      expectOk(await admin(['storage', 'update', '--name', name, '--max-concurrent-requests', '8', '--skip-array-check']));
      await waitFor(() => [...resources.current().storage.values()][0]?.maxConcurrentRequests === 8, 'the service to load the limit');
    });

    it('role create: a 100GiB quota on a pool of that system', async function () {
      const result = await admin(['role', 'create', '--name', 'gold', '--system-type', 'powerflex', '--system-id', SYSTEM_ID, '--pool', 'bronze', '--quota', '100GiB']);
      expectOk(result);
      expect(result.stdout).to.equal(`CSMRole "gold" created in ${path.join(resourcesDir, 'csmrole-gold.yaml')}\n`);
      const list = await admin(['role', 'list']);
      expect(list.stdout).to.match(new RegExp(`gold\\s+powerflex/${SYSTEM_ID}\\s+bronze\\s+100GiB\\s+-`));
    });

    it('role create: a mistyped quota or an unknown system is an error naming the field', async function () {
      const quota = await admin(['role', 'create', '--name', 'silver', '--system-type', 'powerflex', '--system-id', SYSTEM_ID, '--pool', 'bronze', '--quota', '100GB7']);
      expectFailure(quota, /spec\.quota: "100GB7" is not a size/);
      const system = await admin(['role', 'create', '--name', 'silver', '--system-type', 'powerflex', '--system-id', 'no-such-id', '--pool', 'bronze', '--quota', '1TiB']);
      expectFailure(system, /CSMRole "silver": spec\.systemID: no Storage of type powerflex has systemID "no-such-id"/);
      const missing = await admin(['role', 'create', '--name', 'silver', '--system-type', 'powerflex']);
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.match(/required option\(s\) --system-id, --quota not specified \(or use --role name=type=id=pool=quota\)/);
      expect(existsSync(path.join(resourcesDir, 'csmrole-silver.yaml'))).to.equal(false);
    });

    it('tenant create and rolebinding create: a tenant bound to the role', async function () {
      const created = await admin(['tenant', 'create', '--name', 'team-a']);
      expectOk(created);
      expect(created.stdout).to.equal(`CSMTenant "team-a" created in ${path.join(resourcesDir, 'csmtenant-team-a.yaml')}\n`);
      const typo = await admin(['rolebinding', 'create', '--tenant', 'team-a', '--role', 'glod']);
      expectFailure(typo, /^error: CSMRole "glod" not found in .* \(existing: gold\)/);
      const bound = await admin(['rolebinding', 'create', '--tenant', 'team-a', '--role', 'gold']);
      expectOk(bound);
      expect(bound.stdout).to.match(/^role "gold" bound to tenant "team-a"/);
      const bindings = await admin(['-o', 'json', 'rolebinding', 'list']);
      expect(JSON.parse(bindings.stdout)).to.deep.equal({ bindings: [{ tenant: 'team-a', role: 'gold' }] });
      await waitFor(() => resources.current().tenants.get('team-a')?.roles.includes('gold') === true, 'the service to load the binding');
    });

    it('generate token: prints a Kubernetes v1 Secret whose tokens verify as the tenant', async function () {
      const result = await admin(['generate', 'token', '--tenant', 'team-a', '--access-token-expiration', '30m', '--refresh-token-expiration', '1480h']);
      expectOk(result);
      expect(result.stderr).to.match(/^Token Secret "proxy-authz-tokens" generated for tenant "team-a"/);
      const secret = parse(result.stdout) as { apiVersion: string; kind: string; type: string; metadata: { name: string }; data: { access: string; refresh: string } };
      expect(secret).to.deep.include({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque' });
      expect(secret.metadata).to.deep.equal({ name: 'proxy-authz-tokens' });
      const access = await verifier.verify(Buffer.from(secret.data.access, 'base64').toString());
      const refresh = await verifier.verify(Buffer.from(secret.data.refresh, 'base64').toString(), 'refresh');
      expect(access).to.include({ sub: 'csm-tenant', group: 'team-a', roles: 'gold' });
      expect(refresh).to.include({ sub: 'csm-tenant', group: 'team-a', roles: 'gold' });
      expect(refresh.exp - access.exp).to.equal(1480 * 3600 - 30 * 60);
    });

    it('generate token: an unknown tenant or a bad lifetime is a clear error', async function () {
      expectFailure(await admin(['generate', 'token', '--tenant', 'team-b']), /^error: admin API answered 404: tenant "team-b" not found/);
      expectFailure(await admin(['generate', 'token', '--tenant', 'team-a', '--access-token-expiration', '30d']), /--access-token-expiration: duration "30d" has unknown unit "d"/);
      expectFailure(await admin(['generate', 'token']), /required option '-t, --tenant <name>' not specified/);
    });

    it('usage: shows the 100GiB quota of the tenant on the pool', async function () {
      const table = await admin(['usage']);
      expectOk(table);
      expect(table.stdout).to.match(/^TENANT\s+SYSTEM\s+POOL\s+QUOTA\s+USED\s+RESERVED\s+FREE\s+VOLUMES\s+ROLES\s+DRIFT\s+ENFORCEMENT\n/);
      expect(table.stdout).to.match(new RegExp(`team-a\\s+powerflex/${SYSTEM_ID}\\s+bronze\\s+100GiB\\s+0KiB\\s+0KiB\\s+100GiB\\s+0\\s+gold`));
      const json = await admin(['-o', 'json', 'usage', '--tenant', 'team-a']);
      expect((JSON.parse(json.stdout) as { usage: { quotaKiB: number }[] }).usage[0]?.quotaKiB).to.equal(100 * 1024 * 1024);
      expectFailure(await admin(['usage', '--tenant', 'team-b']), /admin API answered 404: tenant "team-b" not found/);
    });

    it('volumes: lists the volume a tenant created, by name, with its size and state', async function () {
      const none = await admin(['volumes', '--tenant', 'team-a']);
      expectOk(none);
      expect(none.stderr).to.equal('No volumes: tenant "team-a" has not created any yet\n');
      // What the service records when team-a's CSI driver creates a volume through the proxy.
      const scope = { systemType: 'powerflex' as const, systemID: SYSTEM_ID, pool: 'bronze', tenant: 'team-a' };
      const reserved = await ledger.reserve(scope, 'k8s-3f2a9c1b7e', 8 * 1024 * 1024, { kind: 'limited', kib: 100 * 1024 * 1024 });
      if (reserved.status !== 'approved') throw new Error(`reserve: ${reserved.status}`);
      await ledger.commit(reserved.reservation);

      const table = await admin(['volumes']);
      expectOk(table);
      expect(table.stdout).to.match(new RegExp(`^TENANT\\s+SYSTEM\\s+POOL\\s+VOLUME\\s+SIZE\\s+STATE\nteam-a\\s+powerflex/${SYSTEM_ID}\\s+bronze\\s+k8s-3f2a9c1b7e\\s+8GiB\\s+committed\n$`));
      const json = await admin(['-o', 'json', 'volumes', '--tenant', 'team-a']);
      expectOk(json);
      expect(JSON.parse(json.stdout)).to.deep.equal({
        volumes: [{ tenant: 'team-a', systemType: 'powerflex', systemID: SYSTEM_ID, pool: 'bronze', name: 'k8s-3f2a9c1b7e', sizeKiB: 8 * 1024 * 1024, state: 'committed' }],
      });
      const yaml = await admin(['-o', 'yaml', 'volumes']);
      expect((parse(yaml.stdout) as { volumes: { name: string }[] }).volumes.map((v) => v.name)).to.deep.equal(['k8s-3f2a9c1b7e']);
      expectFailure(await admin(['volumes', '--tenant', 'team-b']), /admin API answered 404: tenant "team-b" not found/);
    });
  });

  describe('day-two operations', function () {
    it('tenant revoke blocks token generation until cancelled', async function () {
      expect((await admin(['tenant', 'revoke', '--name', 'team-a'])).stdout).to.match(/^CSMTenant "team-a" revoked/);
      await waitFor(() => resources.current().tenants.get('team-a')?.revoke === true, 'the service to load the revocation');
      expectFailure(await admin(['generate', 'token', '--tenant', 'team-a']), /admin API answered 409: tenant "team-a" is revoked/);
      expect((await admin(['tenant', 'revoke', '--name', 'team-a', '--cancel'])).stdout).to.match(/revocation cancelled/);
      await waitFor(() => resources.current().tenants.get('team-a')?.revoke === false, 'the service to load the cancellation');
      expectOk(await admin(['generate', 'token', '--tenant', 'team-a']));
    });

    it("tenant trust: a tenant cluster's service accounts act as the tenant; one trusted by two tenants is refused", async function () {
      const issuer = 'https://cluster-a.example:6443';
      const subject = 'system:serviceaccount:vxflexos:vxflexos-controller';
      await writeFile(path.join(dir, 'cluster-ca.pem'), api.caPem);
      const trusted = await admin(['tenant', 'trust', '--name', 'team-a', '--issuer', issuer, '--subject', `${subject},system:serviceaccount:vxflexos:vxflexos-node`, '--ca-file', path.join(dir, 'cluster-ca.pem')]);
      expectOk(trusted);
      expect(trusted.stdout).to.match(new RegExp(`^CSMTenant "team-a" trusts ${subject}, system:serviceaccount:vxflexos:vxflexos-node of issuer "${issuer}"`));
      await waitFor(() => resources.current().tenants.get('team-a')?.identities?.length === 1, 'the service to load the trust');
      expect(resources.current().tenants.get('team-a')!.identities![0]).to.deep.include({ issuer, audiences: ['storage-authz'], keys: { kind: 'discovery', caBundle: api.caPem } });

      expectOk(await admin(['tenant', 'create', '--name', 'team-t']));
      expectFailure(await admin(['tenant', 'trust', '--name', 'team-t', '--issuer', issuer, '--subject', subject]), new RegExp(`"${subject}" of issuer "${issuer}" is already trusted by CSMTenant "team-a"`));
      expectFailure(await admin(['tenant', 'trust', '--name', 'team-t', '--issuer', issuer, '--subject', 'default']), /spec\.identities\.0\.subjects\.0/);
      expectOk(await admin(['tenant', 'delete', '--name', 'team-t']));
      expect((await admin(['tenant', 'trust', '--name', 'team-a', '--issuer', issuer, '--remove'])).stdout).to.match(/no longer trusts issuer/);
      await waitFor(() => resources.current().tenants.get('team-a')?.identities === undefined, 'the service to drop the trust');
    });

    it('generate sidecar --identity serviceaccount: the projected-token volume, the sidecar flags and the trust command', async function () {
      const result = await authzctl(['generate', 'sidecar', '--identity', 'serviceaccount', '--tenant', 'team-a', '--expiration-seconds', '7200']);
      expectOk(result);
      expect(parse(result.stdout)).to.deep.include({
        volumes: [{ name: 'storage-authz-token', projected: { sources: [{ serviceAccountToken: { audience: 'storage-authz', expirationSeconds: 7200, path: 'token' } }] } }],
      });
      expect(result.stdout).to.contain('authzctl tenant trust --name team-a --issuer <issuer> --audience storage-authz --subject system:serviceaccount:vxflexos:vxflexos-controller');
      expect((await authzctl(['generate', 'sidecar', '--identity', 'serviceaccount', '--tenant', 'team-a', '--expiration-seconds', '60'])).stderr).to.match(/at least 600/);
    });

    it('role and tenant update --enforcement: report mode reaches the service, shown in the lists and usage; a mistyped mode is refused', async function () {
      expectOk(await admin(['role', 'update', '--name', 'gold', '--enforcement', 'report']));
      await waitFor(() => resources.current().roles.get('gold')?.enforcement === 'report', 'the service to load the role in report mode');
      expect((await admin(['role', 'list'])).stdout).to.match(/^gold\s.*\sreport$/m);
      expect((await admin(['usage'])).stdout).to.match(/^team-a\s.*\sreport$/m);
      expectOk(await admin(['tenant', 'update', '--name', 'team-a', '--enforcement', 'enforce']));
      await waitFor(() => resources.current().tenants.get('team-a')?.enforcement === 'enforce', 'the service to load the tenant enforcing');
      expect((await admin(['usage'])).stdout).to.match(/^team-a\s.*\senforce$/m);
      expectFailure(await admin(['tenant', 'update', '--name', 'team-a', '--enforcement', 'warn']), /argument 'warn' is invalid\. Allowed choices are enforce, report/);
      expectOk(await admin(['tenant', 'update', '--name', 'team-a', '--role-enforcement']));
      expectOk(await admin(['role', 'update', '--name', 'gold', '--enforcement', 'enforce']));
      await waitFor(() => resources.current().tenants.get('team-a')?.enforcement === undefined && resources.current().roles.get('gold')?.enforcement === 'enforce', 'the service to load both back');
      expect((await admin(['tenant', 'list'])).stdout).to.match(/^team-a\s.*\sper role$/m);
    });

    it('role delete refuses a role still bound to a tenant, and says how to unbind it', async function () {
      expectFailure(await admin(['role', 'delete', '--name', 'gold']), /role "gold" is bound to tenant\(s\) team-a; unbind it first \(authzctl rolebinding delete --tenant team-a --role gold\)/);
    });

    it('--dry-run prints the object and writes nothing', async function () {
      const result = await authzctl(['tenant', 'create', '--name', 'team-z', '--approve-sdc', '--dry-run']);
      expectOk(result);
      expect(parse(result.stdout)).to.deep.equal({ apiVersion: 'csm-authorization.storage.dell.com/v1', kind: 'CSMTenant', metadata: { name: 'team-z' }, spec: { approveSdc: true, revoke: false } });
      expect(result.stderr).to.equal('CSMTenant "team-z" is valid (dry run: nothing written)\n');
    });

    it('an expired admin access token (dellctl JSON file) is refreshed through the admin API and the command succeeds', async function () {
      const old = await mintTokenPair({ keys, subject: 'csm-admin', group: 'alice', roles: [], accessTtlSeconds: 60, refreshTtlSeconds: 86400, now: Math.floor(Date.now() / 1000) - 3600 });
      // dellctl's JSON form of the admin token file.
      const file = path.join(dir, 'old-admin-token.json');
      await writeFile(file, JSON.stringify({ Access: old.access, Refresh: old.refresh }));
      expectOk(await authzctl(['--addr', api.addr, '--ca', caFile, '--admin-token', file, 'usage']));
    });

    it('admin token signed with a newly added key (--kid) is accepted next to the old one', async function () {
      await writeFile(path.join(keysDir, 'k2'), 'second-signing-key-for-rotation-0123456789abcdef\n', { mode: 0o600 });
      keys = await loadSigningKeys(keysDir, ADMIN_FIXTURE.kid);
      const minted = await authzctl(['admin', 'token', '--secret-file', path.join(keysDir, 'k2')]);
      expectOk(minted);
      expect(minted.stderr).to.match(/signed with key "k2"/);
      const file = path.join(dir, 'k2-admin-token.yaml');
      await writeFile(file, minted.stdout);
      expectOk(await authzctl(['--addr', api.addr, '--ca', caFile, '--admin-token', file, 'usage']));
      expectOk(await authzctl(['--addr', api.addr, '--ca', caFile, '--admin-token', adminTokenFile, 'usage']));
    });

    it('a tenant token used as the admin token is refused with 403', async function () {
      const tenant = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'team-a', roles: ['gold'], accessTtlSeconds: 600, refreshTtlSeconds: 3600 });
      const file = path.join(dir, 'tenant-token.yaml');
      await writeFile(file, `access: ${tenant.access}\nrefresh: ${tenant.refresh}\n`);
      expectFailure(await authzctl(['--addr', api.addr, '--ca', caFile, '--admin-token', file, 'generate', 'token', '--tenant', 'team-a']), /admin API answered 403: admin token required/);
    });

    it('TLS: an unknown certificate is an error suggesting --ca; --insecure skips verification', async function () {
      expectFailure(await authzctl(['--addr', api.addr, '--admin-token', adminTokenFile, 'usage']), /cannot verify the TLS certificate of the admin API at https:\/\/127\.0\.0\.1:\d+ .*pass the CA with --ca <file>/);
      expectOk(await authzctl(['--addr', api.addr, '--insecure', '--admin-token', adminTokenFile, 'usage']));
      expectFailure(await authzctl(['--admin-token', adminTokenFile, 'usage']), /^error: --addr is required/);
    });

    it('a resources directory that does not exist is named in the error', async function () {
      const missing = path.join(dir, 'no-such-dir');
      expectFailure(await authzctl(['--resources-dir', missing, 'tenant', 'list']), new RegExp(`^error: resources directory ${missing} does not exist`));
    });

    it('a mistyped command is an error with a suggestion', async function () {
      const result = await authzctl(['tenat', 'list']);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(/unknown command 'tenat'\n\(Did you mean tenant\?\)/);
    });
  });

  describe('validate', function () {
    it('accepts the directory authzctl wrote, with a summary', async function () {
      const result = await authzctl(['validate', resourcesDir]);
      expectOk(result);
      expect(result.stdout).to.equal(`${resourcesDir} is valid: 1 tenant(s), 1 role(s), 1 storage system(s)\n`);
    });

    it('names the file, object and field of each problem and exits 1', async function () {
      const broken = path.join(dir, 'broken');
      await mkdir(broken);
      await writeFile(path.join(broken, 'roles.yaml'), 'apiVersion: csm-authorization.storage.dell.com/v1\nkind: CSMRole\nmetadata:\n  name: gold\nspec:\n  quota: 100GB7\n  systemType: powerflex\n  systemID: abc\n  pool: p\n');
      const result = await authzctl(['validate', broken]);
      expectFailure(result, /is not valid \(1 problem\):\n {2}roles\.yaml: CSMRole "gold": spec\.quota: "100GB7" is not a size/);
    });
  });

  describe('against storage-authz serve', function () {
    let service: RunningService;
    let adminPort: number;

    before(async function () {
      adminPort = await freePort();
      const config = parseServeConfig({
        listen: `127.0.0.1:${await freePort()}`,
        adminListen: `127.0.0.1:${adminPort}`,
        resourcesDir,
        secretsDir,
        signingKeysDir: keysDir,
        defaultKid: ADMIN_FIXTURE.kid,
        // A site issuer first: the tokens this service mints must carry it (and pass its own verifier).
        issuer: 'authz.example.com,com.dell.csm',
      });
      service = await startService(config, silentLogger);
    });

    after(async function () {
      await service?.close();
    });

    it("generates the tenant's token Secret and shows its usage through the service's admin listener", async function () {
      const connection = ['--addr', `http://127.0.0.1:${service.adminPort ?? adminPort}`, '--admin-token', adminTokenFile];
      const token = await authzctl([...connection, 'generate', 'token', '--tenant', 'team-a', '--namespace', 'vxflexos']);
      expectOk(token);
      const secret = parse(token.stdout) as { metadata: unknown; data: { access: string } };
      expect(secret.metadata).to.deep.equal({ name: 'proxy-authz-tokens', namespace: 'vxflexos' });
      const access = Buffer.from(secret.data.access, 'base64').toString();
      expect(decodeJwt(access)).to.include({ iss: 'authz.example.com', group: 'team-a' });
      const usage = await authzctl([...connection, 'usage', '--tenant', 'team-a']);
      expectOk(usage);
      expect(usage.stdout).to.match(/team-a\s+\S+\s+bronze\s+100GiB/);
    });
  });

  // Last: mocha runs nested suites in order, so this sees the output of every run above.
  describe('secrets', function () {
    it('no authzctl output and no admin API response in this suite contains the signing secret or the array password', function () {
      const everything = [...transcript, ...api.responses()];
      expect(transcript.length).to.be.greaterThan(40);
      for (const text of everything) {
        for (const secret of [ADMIN_FIXTURE.signingSecret, ADMIN_FIXTURE.arrayPassword]) {
          expect(text).to.not.include(secret);
          expect(text).to.not.include(Buffer.from(secret).toString('base64'));
        }
      }
    });
  });
});
