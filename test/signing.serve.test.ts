// `storage-authz serve` signing its own tokens with an asymmetric key (issue 16 item 4): the keys
// directory holds an Ed25519 PEM next to the Dell HS256 secret; the admin listener serves the public
// JWKS; a tenant token it mints is verified by a third party from that JWKS alone and is accepted on
// the data path (real Check server, real policy, fake PowerFlex gateway); a key added to the
// directory is published without a restart.
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { request } from 'undici';
import { parse } from 'yaml';
import { envoyServices } from '../src/check/protos.js';
import type { CheckResponseMessage } from '../src/check/wire.js';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { FakePowerFlexGateway } from '../src/fakes/powerflex/gateway.js';
import { freePort } from '../src/harness/ports.js';
import { waitFor } from '../src/harness/wait.js';
import { parseServeConfig } from '../src/serve/config.js';
import { startService, type RunningService } from '../src/serve/service.js';
import { loadSigningKeys } from '../src/tokens/keys.js';
import { mintTokenPair } from '../src/tokens/mint.js';
import { unaryCall } from './support/grpc.js';

const SYSTEM = '542a2d5f5122210f';
const edPem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const ecPem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

describe('serve signs its tokens with an asymmetric key and serves the JWKS', function () {
  this.timeout(60_000);
  let gateway: FakePowerFlexGateway;
  let workspace: Workspace;
  let service: RunningService;
  let adminUrl: string;
  let checkAddress: string;

  before(async () => {
    gateway = await FakePowerFlexGateway.start({ systemId: SYSTEM });
    workspace = await createWorkspace({
      array: { endpoint: gateway.url, systemId: SYSTEM, ca: gateway.ca, username: 'admin', password: 'Password123!' },
      pool: 'bronze',
      quotaGiB: 8,
      tenants: [{ name: 'team-a', approveSdc: false }],
    });
    await writeFile(path.join(workspace.keysDir, 'ed-1'), edPem(), { mode: 0o600 });
    const [checkPort, adminPort] = [await freePort(), await freePort()];
    checkAddress = `127.0.0.1:${checkPort}`;
    adminUrl = `http://127.0.0.1:${adminPort}`;
    service = await startService(parseServeConfig({
      listen: checkAddress,
      adminListen: `127.0.0.1:${adminPort}`,
      resourcesDir: workspace.resourcesDir,
      secretsDir: workspace.secretsDir,
      signingKeysDir: workspace.keysDir,
      defaultKid: 'ed-1',
      arrayCaFile: workspace.arrayCaFile,
      reconcile: 'off',
    }));
  });

  after(async () => {
    await service?.close();
    await workspace?.remove();
    await gateway?.stop();
  });

  const jwks = async () => (await (await request(`${adminUrl}/proxy/jwks/`)).body.json()) as { keys: Record<string, unknown>[] };

  async function tenantToken(): Promise<string> {
    const admin = await mintTokenPair({ keys: await loadSigningKeys(workspace.keysDir, 'ed-1'), subject: 'csm-admin', group: 'admin', roles: [], accessTtlSeconds: 60, refreshTtlSeconds: 600 });
    const reply = await request(`${adminUrl}/proxy/tenant/token/`, {
      method: 'POST', headers: { authorization: `Bearer ${admin.access}`, 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'team-a' }),
    });
    const body = (await reply.body.json()) as { Token: string };
    expect(reply.statusCode, JSON.stringify(body)).to.equal(200);
    const secret = parse(body.Token) as { data: { access: string } };
    return Buffer.from(secret.data.access, 'base64').toString();
  }

  const read = (token: string) =>
    unaryCall<CheckResponseMessage>(envoyServices().authorization, checkAddress, 'Check', {
      attributes: { request: { http: { id: 'r1', method: 'GET', path: '/api/types/Volume/instances/', headers: { authorization: `Bearer ${token}`, forwarded: `for=csm-authorization;${gateway.url};${SYSTEM},by=csm-authorization;powerflex` } } } },
    });

  it('publishes only the public Ed25519 key, never the HMAC secret', async () => {
    const published = await jwks();
    expect(published.keys.map(({ kid, alg, kty, crv }) => ({ kid, alg, kty, crv }))).to.deep.equal([{ kid: 'ed-1', alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519' }]);
    expect(published.keys[0]).to.not.have.property('d');
    expect(JSON.stringify(published)).to.not.contain(Buffer.from(workspace.signingKeys.keys.get(workspace.signingKeys.defaultKid)!).toString('base64url'));
  });

  it('mints EdDSA tenant tokens that a third party verifies from the JWKS alone, and that the data path accepts', async () => {
    const token = await tenantToken();
    expect(decodeProtectedHeader(token)).to.include({ alg: 'EdDSA', kid: 'ed-1' });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${adminUrl}/proxy/jwks/`)), { issuer: 'com.dell.csm', audience: 'csm' });
    expect(payload).to.include({ sub: 'csm-tenant', group: 'team-a' });
    const answer = await read(token);
    expect(answer.denied_response, JSON.stringify(answer.denied_response)).to.equal(undefined);
    expect(answer.ok_response).to.not.equal(undefined);
  });

  it('publishes a key added to the directory without a restart; tokens of the current key still pass', async () => {
    const token = await tenantToken();
    await writeFile(path.join(workspace.keysDir, 'ec-2'), ecPem(), { mode: 0o600 });
    await waitFor(async () => (await jwks()).keys.some((key) => key.kid === 'ec-2'), 'the JWKS to list the added key', 10_000, 100);
    expect((await jwks()).keys.find((key) => key.kid === 'ec-2')).to.include({ alg: 'ES256', kty: 'EC', crv: 'P-256' });
    expect((await read(token)).ok_response).to.not.equal(undefined);
  });
});
