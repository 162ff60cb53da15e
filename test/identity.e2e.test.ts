// Identity without refresh tokens (issue 16), end to end: a real kube-apiserver is the tenant
// cluster; TokenRequest gives the driver's service-account token (audience ours), the real sidecar
// sends it from a projected-volume-shaped directory through the real edge Envoy to the decision
// service, which verifies it against the API server's JWKS. Only the array is faked.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt, generateKeyPair, importPKCS8, SignJWT } from 'jose';
import { Agent, request, type Dispatcher } from 'undici';
import { stringify } from 'yaml';
import { createAdapters, type Adapters } from '../src/arrays/registry.js';
import { createCheckServer, type CheckServer } from '../src/check/server.js';
import { renderEdgeConfig } from '../src/envoy/edge.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB } from '../src/fakes/powerflex/gateway.js';
import { startControlPlane, type ControlPlane } from '../src/harness/controlPlane.js';
import { freePort, waitForPort } from '../src/harness/ports.js';
import { start, type Started } from '../src/harness/process.js';
import { ProjectedTokenVolume } from '../src/harness/projectedToken.js';
import { envoyBin } from '../src/harness/tools.js';
import { waitFor } from '../src/harness/wait.js';
import { MemoryLedger } from '../src/ledger/memory/memoryLedger.js';
import { confirmFromAccessLog } from '../src/pipeline/confirm/confirm.js';
import { createDecider } from '../src/pipeline/pipeline.js';
import { WasmPolicyEngine } from '../src/pipeline/policy/wasmEngine.js';
import { DirectoryResources } from '../src/resources/directory.js';
import { API_VERSION } from '../src/resources/types.js';
import { generateServingCertificate } from '../src/sidecar/certificates.js';
import { silentLogger } from '../src/telemetry/log.js';
import { ServiceAccountVerifier } from '../src/tokens/serviceAccount.js';
import { TokenVerifier } from '../src/tokens/verify.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import { clusterAs, cr, type Cluster } from './support/kubernetes.js';
import { rejectionOf } from './support/rejection.js';
import { legacyEntry, startSidecar, type RunningSidecar } from './support/sidecar.js';

const AUDIENCE = 'storage-authz';
const NAMESPACE = 'vxflexos';
const DRIVER_SA = 'vxflexos-controller';
const TENANT = 'team-a';
const SYSTEM = '542a2d5f5122210f';
const POOL = DEFAULT_POOLS[0]!;

describe('service-account identity end to end (real kube-apiserver, sidecar, edge Envoy, service, fake gateway)', function () {
  this.timeout(300_000);

  let dir: string;
  let resourcesDir: string;
  let plane: ControlPlane;
  let cluster: Cluster;
  let gateway: FakePowerFlexGateway;
  let resources: DirectoryResources;
  let adapters: Adapters;
  let serviceAccounts: ServiceAccountVerifier;
  let check: CheckServer;
  let edge: Started;
  let sidecar: RunningSidecar;
  let edgePort: number;
  let edgeAgent: Dispatcher;
  let volume: ProjectedTokenVolume;
  const seen: { token: string; at: number }[] = [];
  const driver: Dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  let nameCounter = 0;

  const driverToken = (name = DRIVER_SA, audiences = [AUDIENCE]) => cluster.serviceAccountToken(NAMESPACE, name, audiences);

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'identity-e2e-'));
    [plane, gateway] = await Promise.all([startControlPlane({ apiAudiences: [AUDIENCE] }), FakePowerFlexGateway.start({ systemId: SYSTEM })]);
    cluster = clusterAs(plane.adminKubeconfig);
    await cluster.createNamespace(NAMESPACE);

    // The storage admin's side: the tenant trusts the cluster's issuer for the driver's service account.
    resourcesDir = path.join(dir, 'resources');
    const secretsDir = path.join(dir, 'secrets');
    await Promise.all([resourcesDir, path.join(secretsDir, 'powerflex-creds')].map((d) => mkdir(d, { recursive: true })));
    const objects = {
      'storage.yaml': { apiVersion: API_VERSION, kind: 'Storage', metadata: { name: 'powerflex-a' }, spec: { type: 'powerflex', endpoint: gateway.url, systemID: SYSTEM, skipCertificateValidation: false, storageSystemCredentials: { secret: 'powerflex-creds' } } },
      'role.yaml': { apiVersion: API_VERSION, kind: 'CSMRole', metadata: { name: 'bronze' }, spec: { quota: '20GiB', systemType: 'powerflex', systemID: SYSTEM, pool: POOL.name } },
      'tenant.yaml': {
        apiVersion: API_VERSION, kind: 'CSMTenant', metadata: { name: TENANT },
        spec: {
          roles: 'bronze', approveSdc: false, revoke: false,
          identities: [{ issuer: plane.issuer, audiences: [AUDIENCE], jwksUri: plane.jwksUri, caBundle: plane.caPem, subjects: [`system:serviceaccount:${NAMESPACE}:${DRIVER_SA}`] }],
        },
      },
    };
    for (const [name, object] of Object.entries(objects)) await writeFile(path.join(resourcesDir, name), stringify(object));
    await writeFile(path.join(secretsDir, 'powerflex-creds', 'username'), 'admin');
    await writeFile(path.join(secretsDir, 'powerflex-creds', 'password'), 'Password123!');
    await writeFile(path.join(dir, 'array-ca.pem'), gateway.ca);
    const edgeCertificate = await generateServingCertificate(new Date(Date.now() - 60_000), 24 * 3600_000);
    await writeFile(path.join(dir, 'edge-cert.pem'), edgeCertificate.certPem);
    await writeFile(path.join(dir, 'edge-key.pem'), edgeCertificate.keyPem);
    edgeAgent = new Agent({ connect: { ca: edgeCertificate.certPem } });

    resources = await DirectoryResources.open(resourcesDir, { secretsDir, logger: silentLogger });
    const policy = await WasmPolicyEngine.load();
    policy.setRoles(resources.current().roles.values());
    adapters = createAdapters({ ca: gateway.ca });
    // No shared secret with the tenant cluster: the HS256 key only serves Dell tokens, none here.
    const verifier = new TokenVerifier({ keys: () => ({ defaultKid: 'unused', keys: new Map([['unused', new Uint8Array(randomBytes(32))]]) }) });
    // Short JWKS times so the rotation is seen within the test: a refetch per unknown kid, kept 1 s.
    serviceAccounts = new ServiceAccountVerifier({ cooldownMs: 0, maxAgeMs: 1000 });
    const ledger = new MemoryLedger();
    const decide = createDecider({ verifier, serviceAccounts, resources, adapters: adapters.registry, policy, ledger, logger: silentLogger });
    check = createCheckServer({
      decide: (req) => {
        seen.push({ token: (req.headers.authorization ?? '').replace(/^Bearer /, ''), at: Date.now() / 1000 });
        return decide(req);
      },
      onAccessLog: confirmFromAccessLog(ledger, { resources, adapters: adapters.registry }),
    });
    const authzPort = await check.listen('127.0.0.1:0');
    check.setServing(true);

    edgePort = await freePort();
    const edgeConfig = renderEdgeConfig({
      listen: { address: '127.0.0.1', port: edgePort },
      tls: { certFile: path.join(dir, 'edge-cert.pem'), keyFile: path.join(dir, 'edge-key.pem') },
      authz: { address: `127.0.0.1:${authzPort}` },
      envoyAdmin: { address: '127.0.0.1', port: await freePort() },
      storage: [...resources.current().storage.values()],
      caFile: path.join(dir, 'array-ca.pem'),
      authzTimeoutMs: 10_000,
    });
    await writeFile(path.join(dir, 'edge-envoy.json'), JSON.stringify(edgeConfig));
    edge = start(envoyBin, ['-c', path.join(dir, 'edge-envoy.json'), '--use-dynamic-base-id', '--log-level', 'warn']);
    await waitForPort(edgePort).catch((error: Error) => { throw new Error(`edge Envoy did not start: ${error.message}\n${edge.output()}`); });

    // The tenant cluster's side: the driver pod's projected token, as kubelet writes it.
    volume = new ProjectedTokenVolume(path.join(dir, 'projected'));
    await volume.write(await driverToken());
    sidecar = await startSidecar({
      dir, edgePort, edgeCa: edgeCertificate.certPem, arrays: 1, serviceAccountTokenFile: volume.tokenFile,
      driverConfig: ([port]) => [legacyEntry(gateway.url, SYSTEM, port!)],
    });
    await waitFor(async () => (await send('GET', '/api/login')).status === 200, 'a driver login through sidecar and edge', 30_000, 200);
  });

  after(async () => {
    await sidecar?.stop();
    await edge?.stop();
    await driver.close();
    await edgeAgent?.close();
    await check?.close(1000);
    await serviceAccounts?.close();
    await adapters?.close();
    resources?.close();
    await gateway?.stop();
    await plane?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A request as the PowerFlex driver sends it to its "array", the sidecar on localhost. */
  async function send(method: Dispatcher.HttpMethod, target: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await request(`https://localhost:${sidecar.ports[0]!}${target}`, {
      method,
      dispatcher: driver,
      headers: { authorization: `Basic ${Buffer.from('placeholder:placeholder').toString('base64')}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.body.text();
    try {
      return { status: response.statusCode, body: JSON.parse(text) as unknown };
    } catch {
      return { status: response.statusCode, body: text };
    }
  }

  /** A read sent straight to the edge with `token`, as a sidecar would send it. */
  async function atEdge(token: string): Promise<{ status: number; message: string }> {
    const response = await request(`https://localhost:${edgePort}/api/types/Volume/instances/`, {
      dispatcher: edgeAgent,
      headers: { authorization: `Bearer ${token}`, forwarded: `for=csm-authorization;${gateway.url};${SYSTEM},by=csm-authorization;powerflex` },
    });
    const text = await response.body.text();
    let message = text;
    try {
      message = String((JSON.parse(text) as { message?: unknown }).message ?? text);
    } catch {
      // not JSON: the text is the message
    }
    return { status: response.statusCode, message };
  }

  const createVolume = () => send('POST', '/api/types/Volume/instances/', { name: `sa-${++nameCounter}`, storagePoolId: POOL.id, volumeSizeInKb: String(8 * GIB_IN_KIB), volumeType: 'ThinProvisioned' });
  const deleteVolume = (id: string) => send('POST', `/api/instances/Volume::${id}/action/removeVolume/`, { removeMode: 'ONLY_ME' });

  /** The kid the API server signs with now (its JWKS, read anonymously as any verifier does). */
  async function currentKid(): Promise<string> {
    const response = await request(plane.jwksUri, { dispatcher: new Agent({ connect: { ca: plane.caPem } }) });
    const jwks = (await response.body.json()) as { keys: { kid: string }[] };
    expect(jwks.keys).to.have.length(1);
    return jwks.keys[0]!.kid;
  }

  it('the CSMTenant CRD takes identities (JWKs kept whole, or neither jwksUri nor jwks: OIDC discovery) and refuses both', async () => {
    await cluster.installCrds();
    const tenant = (name: string, keys: Record<string, unknown>) => cr('CSMTenant', name, NAMESPACE, {
      approveSdc: false, revoke: false, identities: [{ issuer: plane.issuer, audiences: [AUDIENCE], subjects: [`system:serviceaccount:${NAMESPACE}:${DRIVER_SA}`], ...keys }],
    });
    const jwk = { kty: 'RSA', kid: 'k1', n: 'AQAB', e: 'AQAB', use: 'sig' };
    await cluster.apply(tenant('inline', { jwks: { keys: [jwk] } }));
    const stored = await cluster.read<KubernetesObject & { spec: { identities: { jwks: { keys: unknown[] } }[] } }>(API_VERSION, 'CSMTenant', 'inline', NAMESPACE);
    expect(stored?.spec.identities[0]?.jwks.keys).to.deep.equal([jwk]);
    await cluster.apply(tenant('discovered', {}));
    const error = await rejectionOf(cluster.apply(tenant('invalid', { jwksUri: plane.jwksUri, jwks: { keys: [jwk] } })));
    expect(error.message).to.contain('at most one of jwksUri, jwks may be set');
  });

  it("allows the driver's TokenRequest token sent by the sidecar, with the tenant's roles (quota applies)", async () => {
    const from = seen.length;
    const created = await createVolume();
    expect(created.status, JSON.stringify(created.body)).to.equal(200);
    expect(decodeJwt(seen.slice(from).at(-1)!.token)).to.include({ iss: plane.issuer, sub: `system:serviceaccount:${NAMESPACE}:${DRIVER_SA}` });
    // bronze is 20 GiB: two 8 GiB volumes fit, a third does not — the tenant's live role decides.
    const second = await createVolume();
    expect(second.status, JSON.stringify(second.body)).to.equal(200);
    const ids = [(created.body as { id: string }).id, (second.body as { id: string }).id];
    const over = await createVolume();
    expect(over.status, JSON.stringify(over.body)).to.equal(507);
    expect((over.body as { message: string }).message).to.contain(`not enough quota: tenant "${TENANT}"`);
    for (const id of ids) expect((await deleteVolume(id)).status).to.equal(200);
  });

  it("refuses another audience, another service account, another cluster's issuer, a foreign key and an expired token, each 401 with the reason", async () => {
    expect(await atEdge(await driverToken(DRIVER_SA, ['https://kubernetes.default.svc']))).to.deep.equal({ status: 401, message: `token audience is none of ${AUDIENCE}` });
    expect(await atEdge(await driverToken('default'))).to.deep.equal({ status: 401, message: `service account "system:serviceaccount:${NAMESPACE}:default" is not trusted for issuer "${plane.issuer}"` });

    const foreign = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const claims = { aud: [AUDIENCE], sub: `system:serviceaccount:${NAMESPACE}:${DRIVER_SA}`, iat: now, nbf: now, exp: now + 600 };
    const otherCluster = await new SignJWT({ ...claims, iss: 'https://cluster-b.example:6443' }).setProtectedHeader({ alg: 'RS256', kid: 'b-1' }).sign(foreign.privateKey);
    expect(await atEdge(otherCluster)).to.deep.equal({ status: 401, message: 'token issuer "https://cluster-b.example:6443" is not trusted by any tenant (CSMTenant spec.identities)' });
    const kid = await currentKid();
    const forged = await new SignJWT({ ...claims, iss: plane.issuer }).setProtectedHeader({ alg: 'RS256', kid }).sign(foreign.privateKey);
    expect(await atEdge(forged)).to.deep.equal({ status: 401, message: `token signature does not match issuer "${plane.issuer}"'s key` });

    // TokenRequest's shortest lifetime is 10 minutes: the expired token is signed with the cluster's own key instead.
    const clusterKey = await importPKCS8(await plane.signingKeyPem(), 'RS256');
    const expiredAt = now - 120;
    const expired = await new SignJWT({ ...claims, iss: plane.issuer, iat: now - 720, nbf: now - 720, exp: expiredAt }).setProtectedHeader({ alg: 'RS256', kid }).sign(clusterKey);
    expect(await atEdge(expired)).to.deep.equal({ status: 401, message: `token expired at ${new Date(expiredAt * 1000).toISOString()}` });
    const fresh = await new SignJWT({ ...claims, iss: plane.issuer }).setProtectedHeader({ alg: 'RS256', kid }).sign(clusterKey);
    expect((await atEdge(fresh)).status, 'the same claims, unexpired, pass').to.equal(200);
  });

  it("keeps working across many token rotations (kubelet's atomic symlink swap) with no failed request", async () => {
    const rotations = 6;
    const written: string[] = [];
    const failures: string[] = [];
    let requests = 0;
    for (let i = 0; i < rotations; i++) {
      const token = await driverToken();
      written.push(token);
      await volume.write(token);
      // Requests run on while the file changes; each round ends once the edge has seen the new token.
      await waitFor(async () => {
        const answer = await send('GET', '/api/types/Volume/instances/');
        requests++;
        if (answer.status !== 200) failures.push(`${answer.status} ${JSON.stringify(answer.body)}`);
        return seen.at(-1)!.token === token;
      }, `the sidecar to send rotated token ${i + 1}`, 15_000, 20);
    }
    expect(failures, `${failures.length} of ${requests} requests failed`).to.deep.equal([]);
    expect(new Set(written).size, 'each rotation is a new token').to.equal(rotations);
  });

  it('verifies tokens of a rotated signing key after a JWKS refresh, without a restart, and refuses the retired key', async () => {
    const beforeRotation = await driverToken();
    expect((await atEdge(beforeRotation)).status).to.equal(200);

    await plane.rotateServiceAccountKey({ keepPrevious: true });
    const afterRotation = await driverToken();
    expect(decodeJwt(afterRotation).iss).to.equal(plane.issuer);
    expect((await atEdge(afterRotation)).status, 'a new kid makes the service refetch the JWKS').to.equal(200);
    expect((await atEdge(beforeRotation)).status, 'the previous key is still published').to.equal(200);

    await plane.rotateServiceAccountKey({ keepPrevious: false });
    const latest = await driverToken();
    expect((await atEdge(latest)).status).to.equal(200);
    // The cached JWKS lives 1 s here (default 5 min): until then the retired key still verifies.
    let refused: { status: number; message: string } | undefined;
    await waitFor(async () => {
      refused = await atEdge(afterRotation);
      return refused.status !== 200;
    }, 'the retired key to be refused', 15_000, 100);
    expect(refused).to.deep.equal({ status: 401, message: `token was signed with a key that issuer "${plane.issuer}" does not (or no longer) publish` });
    expect((await atEdge(latest)).status).to.equal(200);
  });

  it("finds the keys by OIDC discovery when no JWKS is configured; an issuer whose keys cannot be fetched is a 503 in the array's shape", async () => {
    const nodeSa = 'vxflexos-node';
    const deadIssuer = `https://127.0.0.1:${await freePort()}`;
    const trust = (name: string, identity: Record<string, unknown>) => ({
      apiVersion: API_VERSION, kind: 'CSMTenant', metadata: { name },
      spec: { roles: 'bronze', approveSdc: false, revoke: false, identities: [{ audiences: [AUDIENCE], ...identity }] },
    });
    await writeFile(path.join(resourcesDir, 'discovered.yaml'), [
      stringify(trust('team-discovered', { issuer: plane.issuer, caBundle: plane.caPem, subjects: [`system:serviceaccount:${NAMESPACE}:${nodeSa}`] })),
      stringify(trust('team-unreachable', { issuer: deadIssuer, subjects: [`system:serviceaccount:${NAMESPACE}:${DRIVER_SA}`] })),
    ].join('---\n'));
    await waitFor(() => resources.current().tenants.has('team-unreachable'), 'the service to load the new tenants', 15_000, 50);

    const discovered = await atEdge(await driverToken(nodeSa));
    expect(discovered.status, `the API server's discovery document names its JWKS: ${discovered.message}`).to.equal(200);

    const foreign = await generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ iss: deadIssuer, aud: [AUDIENCE], sub: `system:serviceaccount:${NAMESPACE}:${DRIVER_SA}`, iat: now, exp: now + 600 }).setProtectedHeader({ alg: 'ES256', kid: 'x' }).sign(foreign.privateKey);
    expect(await atEdge(token)).to.deep.equal({ status: 503, message: `the keys of issuer "${deadIssuer}" could not be fetched; its tokens are refused until they can be` });
  });
});
