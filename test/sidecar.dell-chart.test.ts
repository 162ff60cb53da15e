// Our image in Dell's driver chart, unchanged: the authorization container csi-vxflexos 2.18.0 renders
// with `authorization.enabled: true` has no command or args (the image's entrypoint starts the
// sidecar), the environment below, tokens from env (Secret proxy-authz-tokens, no tokens volume),
// and its files at Dell's absolute paths — the array list from Secret karavi-authorization-config
// when it exists, else the driver's own secret at /vxflexos-config/config. The sidecar runs in a
// chroot with exactly that layout and drives requests through the real edge Envoy, decision service
// and admin API (refresh) to a fake PowerFlex gateway. Access tokens live 4 s: only a refresh before
// expiry keeps requests passing.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { Agent, request, type Dispatcher } from 'undici';
import { stringify } from 'yaml';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { freePort } from '../src/harness/ports.js';
import { waitForOutput, type Started } from '../src/harness/process.js';
import { envoyBin, repoRoot } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import { DirectoryResources } from '../src/resources/directory.js';
import { API_VERSION } from '../src/resources/types.js';
import { silentLogger } from '../src/telemetry/log.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import type { SigningKeySet } from '../src/tokens/types.js';
import { startInLayout } from './support/dellLayout.js';
import { startServiceStack, type ServiceStack } from './support/serviceStack.js';

const ACCESS_TTL_SECONDS = 4;
const TENANT = 'team-a';
const SYSTEM = '542a2d5f5122210f';
const POOL = DEFAULT_POOLS[0]!;
/** What the image's entrypoint runs (Dockerfile ENTRYPOINT + CMD), with this checkout's Node and Envoy. */
const ENTRYPOINT = [process.execPath, '--single-threaded-gc', '--import', 'tsx', path.join(repoRoot, 'src/main.ts'), 'sidecar', '--envoy-bin', envoyBin];

describe("the sidecar in Dell's driver chart (csi-vxflexos authorization container, unchanged)", function () {
  this.timeout(180_000);

  let dir: string;
  let gateway: FakePowerFlexGateway;
  let resources: DirectoryResources;
  let stack: ServiceStack;
  let edgePort: number;
  let edgeCa: string;
  const seenTokens: { at: number; token: string }[] = [];
  const keys: SigningKeySet = { defaultKid: 'dell', keys: new Map([['dell', new Uint8Array(randomBytes(48))]]) };
  const driver: Dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  const running: Started[] = [];
  let nameCounter = 0;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sidecar-dell-chart-'));
    gateway = await FakePowerFlexGateway.start({ systemId: SYSTEM });
    const resourcesDir = path.join(dir, 'resources');
    const secretsDir = path.join(dir, 'secrets');
    await mkdir(resourcesDir, { recursive: true });
    await mkdir(path.join(secretsDir, 'powerflex-creds'), { recursive: true });
    const objects = {
      'tenant.yaml': { apiVersion: API_VERSION, kind: 'CSMTenant', metadata: { name: TENANT }, spec: { roles: 'bronze', approveSdc: false, revoke: false } },
      'storage.yaml': { apiVersion: API_VERSION, kind: 'Storage', metadata: { name: 'powerflex' }, spec: { type: 'powerflex', endpoint: gateway.url, systemID: SYSTEM, skipCertificateValidation: false, storageSystemCredentials: { secret: 'powerflex-creds' } } },
      'role.yaml': { apiVersion: API_VERSION, kind: 'CSMRole', metadata: { name: 'bronze' }, spec: { quota: '1024GiB', systemType: 'powerflex', systemID: SYSTEM, pool: POOL.name } },
    };
    for (const [name, object] of Object.entries(objects)) await writeFile(path.join(resourcesDir, name), stringify(object));
    await writeFile(path.join(secretsDir, 'powerflex-creds', 'username'), 'admin');
    await writeFile(path.join(secretsDir, 'powerflex-creds', 'password'), 'Password123!');

    resources = await DirectoryResources.open(resourcesDir, { secretsDir, logger: silentLogger });
    stack = await startServiceStack({
      dir, resources, keys, arrayCa: gateway.ca,
      tokenDefaults: { refreshedTenantAccessTtlSeconds: ACCESS_TTL_SECONDS },
      observe: (req) => seenTokens.push({ at: Date.now() / 1000, token: (req.headers.authorization ?? '').replace(/^Bearer /, '') }),
    });
    ({ edgePort, edgeCa } = stack);
  });

  after(async () => {
    for (const process of running.splice(0)) await process.stop();
    await stack?.stop();
    await driver.close();
    resources?.close();
    await gateway?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * The container as the chart renders it: env PROXY_HOST, SKIP_CERTIFICATE_VALIDATION,
   * PLUGIN_IDENTIFIER, ACCESS_TOKEN/REFRESH_TOKEN; mounts driver-config-params (ConfigMap) at
   * /etc/karavi-authorization, proxy-server-root-certificate at …/root-certificates, and the array list.
   */
  /** `issuedSecondsAgo`: how old the pair in the Secret is (a pod restarted long after it was applied). */
  async function startDellContainer(name: string, layout: { configSecret: boolean; skipCertificateValidation: boolean; issuedSecondsAgo?: number }): Promise<{ port: number; sidecar: Started }> {
    const port = await freePort();
    const now = Math.floor(Date.now() / 1000) - (layout.issuedSecondsAgo ?? 0);
    const pair = await mintTokenPair({ keys, subject: 'csm-tenant', group: TENANT, roles: ['bronze'], accessTtlSeconds: ACCESS_TTL_SECONDS, refreshTtlSeconds: 7200, now });
    const arrays = JSON.stringify([{ username: 'placeholder', password: 'placeholder', systemID: SYSTEM, endpoint: `https://localhost:${port}`, skipCertificateValidation: true, isDefault: true, mdm: '10.0.0.3,10.0.0.4' }]);
    const files: Record<string, string> = {
      '/etc/karavi-authorization/driver-config-params.yaml': 'CSI_LOG_LEVEL: "debug"\nCSI_LOG_FORMAT: "JSON"\n',
      // Empty when skipping validation, as the chart's default Secret is.
      '/etc/karavi-authorization/root-certificates/rootCertificate.pem': layout.skipCertificateValidation ? '' : edgeCa,
      [layout.configSecret ? '/etc/karavi-authorization/config/config' : '/vxflexos-config/config']: arrays,
    };
    const env = {
      PATH: process.env.PATH,
      PROXY_HOST: `localhost:${edgePort}`,
      SKIP_CERTIFICATE_VALIDATION: String(layout.skipCertificateValidation),
      PLUGIN_IDENTIFIER: 'powerflex',
      ACCESS_TOKEN: pair.access,
      REFRESH_TOKEN: pair.refresh,
    };
    const sidecar = await startInLayout(path.join(dir, name), files, ENTRYPOINT[0]!, ENTRYPOINT.slice(1), env, repoRoot);
    running.push(sidecar);
    await waitForOutput(sidecar, /"msg":"sidecar ready"/, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${sidecar.output().slice(-3000)}`);
    });
    return { port, sidecar };
  }

  async function send(port: number, method: Dispatcher.HttpMethod, target: string, body?: unknown): Promise<{ status: number; body: string }> {
    const response = await request(`https://localhost:${port}${target}`, {
      method, dispatcher: driver,
      headers: { authorization: `Basic ${Buffer.from('placeholder:placeholder').toString('base64')}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.statusCode, body: await response.body.text() };
  }

  async function driveOverTokenLifetimes(port: number, lifetimes: number): Promise<void> {
    await waitFor(async () => (await send(port, 'GET', '/api/login')).status === 200, 'a driver login through sidecar and edge', 30_000, 200);
    const from = seenTokens.length;
    const until = Date.now() + lifetimes * ACCESS_TTL_SECONDS * 1000;
    const failures: string[] = [];
    while (Date.now() < until) {
      const created = await send(port, 'POST', '/api/types/Volume/instances/', { name: `dell-${++nameCounter}`, storagePoolId: POOL.id, volumeSizeInKb: String(8 * GIB_IN_KIB), volumeType: 'ThinProvisioned' });
      if (created.status !== 200) failures.push(`create ${created.status} ${created.body}`);
      else {
        const { id } = JSON.parse(created.body) as { id: string };
        const removed = await send(port, 'POST', `/api/instances/Volume::${id}/action/removeVolume/`, { removeMode: 'ONLY_ME' });
        if (removed.status !== 200) failures.push(`delete ${removed.status} ${removed.body}`);
      }
    }
    expect(failures.slice(0, 3), `${failures.length} failures`).to.deep.equal([]);
    const checks = seenTokens.slice(from);
    expect(new Set(checks.map((c) => c.token)).size, 'tokens from ACCESS_TOKEN were refreshed').to.be.at.least(lifetimes);
    for (const c of checks) expect(decodeJwt(c.token).exp!, 'a token expired when it reached the edge').to.be.greaterThan(c.at);
  }

  it('Secret karavi-authorization-config present: reads /etc/karavi-authorization/config/config, verifies the edge with rootCertificate.pem, refreshes env tokens before expiry', async () => {
    const { port, sidecar } = await startDellContainer('with-config-secret', { configSecret: true, skipCertificateValidation: false });
    expect(sidecar.output()).to.contain('"driverConfig":"/etc/karavi-authorization/config/config"').and.contain('"tokens":"environment"');
    expect(sidecar.output()).to.contain('"logLevel":"debug"');
    await driveOverTokenLifetimes(port, 3);
    // CSI_LOG_LEVEL: debug from driver-config-params.yaml is in force: each refresh is logged at debug
    // (asserted after the refreshes, not at start-up, when the first one may not have happened yet).
    expect(sidecar.output()).to.match(/"level":20,[^\n]*"msg":"access token refreshed"/);
    // Tokens from the environment are never logged (nor the refreshed ones).
    expect(sidecar.output()).not.to.contain(seenTokens[0]!.token.split('.')[2]).and.not.contain(seenTokens.at(-1)!.token.split('.')[2]);
  });

  it("Secret karavi-authorization-config absent: falls back to the driver's own secret at /vxflexos-config/config (skipCertificateValidation); an ACCESS_TOKEN that expired an hour ago holds the first calls until the first refresh", async () => {
    const { port, sidecar } = await startDellContainer('driver-secret-only', { configSecret: false, skipCertificateValidation: true, issuedSecondsAgo: 3600 });
    expect(sidecar.output()).to.contain('"driverConfig":"/vxflexos-config/config"');
    await driveOverTokenLifetimes(port, 2);
  });
});
