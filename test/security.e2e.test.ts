// The findings of an attack run (issue 12), each replayed through the real edge: a real Envoy with
// the rendered edge config, `storage-authz serve`, and the fake PowerFlex gateway behind them. Each
// is judged by what the tenant sees and by what the array actually received.
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SignJWT } from 'jose';
import { Agent, request, type Dispatcher } from 'undici';
import { stringify } from 'yaml';
import { startStack, type Stack } from '../src/demo/stack.js';
import { createWorkspace, type Workspace } from '../src/demo/workspace.js';
import { DEFAULT_POOLS, FakePowerFlexGateway, GIB_IN_KIB, type SeenRequest } from '../src/fakes/powerflex/gateway.js';
import { PATH_HEADER } from '../src/check/httpContract.js';
import { API_VERSION } from '../src/resources/types.js';
import { mintTokenPair, type TokenPair } from '../src/tokens/mint.js';
import { waitFor } from '../src/harness/wait.js';

const POOL = DEFAULT_POOLS[0]!;
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): Record<string, unknown>;
}

// Both ways the edge can ask for decisions: the gRPC Check, and ext_authz's http_service (which
// cannot set :path and takes the allow's changes from the answer's headers: check/httpContract.ts).
for (const transport of ['grpc', 'http'] as const) {
describe(`security (${transport} ext_authz): the attack-run findings through the real edge (Envoy + serve + fake PowerFlex gateway)`, function () {
  this.timeout(120_000);

  let gateway: FakePowerFlexGateway;
  let workspace: Workspace;
  let stack: Stack;
  let agent: Agent;
  let forwarded: string;
  let teamA: TokenPair;
  let teamB: TokenPair;
  let admin: TokenPair;
  let secret: Uint8Array;

  const mint = (group: string, subject: 'csm-tenant' | 'csm-admin' = 'csm-tenant') =>
    mintTokenPair({ keys: workspace.signingKeys, subject, group, roles: subject === 'csm-admin' ? [] : [workspace.roleName], accessTtlSeconds: 600, refreshTtlSeconds: 86_400 });

  async function send(method: Dispatcher.HttpMethod, pathAndQuery: string, options: { token?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { forwarded, ...(options.body !== undefined && { 'content-type': 'application/json' }), ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const response = await request(`${stack.edgeUrl}${pathAndQuery}`, { method, headers, body: options.body, dispatcher: agent });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
  }

  /**
   * What the edge forwarded to the gateway while `action` ran. The service's own calls (its
   * reconciliation pass, lookups) carry no x-request-id; Envoy sets one on every forwarded request.
   */
  async function arrayReceived(action: () => Promise<Answer>): Promise<{ answer: Answer; received: SeenRequest[] }> {
    const before = gateway.requests.length;
    const answer = await action();
    return { answer, received: gateway.requests.slice(before).filter((seen) => seen.headers['x-request-id'] !== undefined) };
  }

  /** Dell v0.1–v1.6.0's token format (lestrrat-go/jwx): no kid, no iat, sorted claims, karavi iss/aud/sub. */
  function dellV16Token(group: string, exp: number): string {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = { aud: 'karavi', exp, group, iss: 'com.dell.karavi', roles: workspace.roleName, sub: 'karavi-tenant' };
    const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  }

  const createBody = (name: string, sizeKiB = 8 * GIB_IN_KIB) =>
    JSON.stringify({ name, storagePoolId: POOL.id, volumeSizeInKb: String(sizeKiB), volumeType: 'ThinProvisioned' });

  before(async () => {
    gateway = await FakePowerFlexGateway.start();
    workspace = await createWorkspace({
      array: { endpoint: gateway.url, systemId: gateway.systemId, ca: gateway.ca, username: 'admin', password: 'Password123!' },
      pool: POOL.name,
      quotaGiB: 64,
      tenants: [{ name: 'team-a', approveSdc: false }, { name: 'team-b', approveSdc: false }],
    });
    secret = workspace.signingKeys.keys.get(workspace.signingKeys.defaultKid)!;
    stack = await startStack({ workspace, transport });
    agent = new Agent({ connect: { ca: workspace.edgeCa } });
    forwarded = `for=csm-authorization;${gateway.url};${gateway.systemId},by=csm-authorization;csi-vxflexos`;
    [teamA, teamB, admin] = await Promise.all([mint('team-a'), mint('team-b'), mint('admin', 'csm-admin')]);
  });

  after(async () => {
    await agent?.close();
    await stack?.stop();
    await gateway?.stop();
    await workspace?.remove();
  });

  describe('1. a refresh token is not an access token', () => {
    it('refuses a tenant refresh token on a volume create with 401; the array never sees the create', async () => {
      const { answer, received } = await arrayReceived(() => send('POST', '/api/types/Volume/instances/', { token: teamA.refresh, body: createBody('refresh-as-access') }));
      expect(answer.status, answer.text).to.equal(401);
      expect(answer.json().message).to.match(/refresh token is not accepted here/);
      expect(received).to.deep.equal([]);
      expect(gateway.volumes.map((volume) => volume.name)).to.not.include('refresh-as-access');
      // The access token of the same pair does create it.
      expect((await send('POST', '/api/types/Volume/instances/', { token: teamA.access, body: createBody('access-creates') })).status).to.equal(200);
    });

    it('refuses an admin refresh token on GET /proxy/usage/ with 401, and takes it only at /proxy/refresh-admin/', async () => {
      const usage = await send('GET', '/proxy/usage/', { token: admin.refresh });
      expect(usage.status, usage.text).to.equal(401);
      expect(usage.json().error).to.match(/refresh token is not accepted here/);
      expect((await send('GET', '/proxy/usage/', { token: admin.access })).status).to.equal(200);
      const refreshed = await send('POST', '/proxy/refresh-admin/', { token: admin.refresh, body: JSON.stringify({ Access: admin.access, Refresh: admin.refresh }) });
      expect(refreshed.status, refreshed.text).to.equal(200);
      expect((await send('GET', '/proxy/usage/', { token: refreshed.json().AccessToken as string })).status).to.equal(200);
    });

    it('refuses a tenant token pair sent swapped to /proxy/refresh-token/ with 401 wrong-token-kind', async () => {
      const answer = await send('POST', '/proxy/refresh-token/', { body: JSON.stringify({ refreshToken: teamA.access, accessToken: teamA.refresh }) });
      expect(answer.status, answer.text).to.equal(401);
      expect(answer.json().reason).to.equal('wrong-token-kind');
    });
  });

  describe('2. reads need a live role on the system', () => {
    it('stops a tenant whose only role was removed from listing the array\'s volumes: 403 with the reason, the array never asked', async () => {
      const list = () => send('GET', '/api/types/Volume/instances/', { token: teamB.access });
      expect((await list()).status).to.equal(200);
      const tenantFile = path.join(workspace.resourcesDir, 'tenant-team-b.yaml');
      await writeFile(tenantFile, stringify({ apiVersion: API_VERSION, kind: 'CSMTenant', metadata: { name: 'team-b' }, spec: { roles: '', approveSdc: false, revoke: false } }));
      await waitFor(async () => (await list()).status === 403, 'team-b\'s reads to be refused once its role binding is gone');
      const { answer, received } = await arrayReceived(list);
      expect(answer.status).to.equal(403);
      expect(answer.json().message).to.equal(`read denied: tenant "team-b" has no role on powerflex system "${gateway.systemId}"`);
      expect(received).to.deep.equal([]);
      // A tenant with the role still reads.
      expect((await send('GET', '/api/types/Volume/instances/', { token: teamA.access })).status).to.equal(200);
    });
  });

  describe('3. tokens not yet valid', () => {
    for (const claim of ['nbf', 'iat'] as const) {
      it(`refuses a token whose ${claim} is an hour ahead with 401 saying so`, async () => {
        const now = nowSeconds();
        const token = await new SignJWT({ iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant', group: 'team-a', roles: workspace.roleName, token_use: 'access', exp: now + 7200, [claim]: now + 3600 })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .sign(secret);
        const { answer, received } = await arrayReceived(() => send('GET', '/api/version', { token }));
        expect(answer.status, answer.text).to.equal(401);
        expect(answer.json().message).to.match(claim === 'nbf' ? /token is not valid before .* \(nbf\)/ : /token is issued in the future, .* \(iat\)/);
        expect(received).to.deep.equal([]);
      });
    }
  });

  describe('4. \';\' path parameters', () => {
    it('refuses /api/logout;x, /api/login;x and /api/version;x with 400; the shared array session survives', async () => {
      for (const trick of ['/api/logout;x', '/api/login;x', '/api/version;jsessionid=1', '/api/gatewayLogout;/']) {
        const { answer, received } = await arrayReceived(() => send('GET', trick, { token: teamA.access }));
        expect(answer.status, `${trick}: ${answer.text}`).to.equal(400);
        expect(answer.json().message).to.match(/path parameters \(';'\) are not accepted/);
        expect(received, trick).to.deep.equal([]);
      }
      const read = await arrayReceived(() => send('GET', '/api/version', { token: teamA.access }));
      expect(read.answer.status).to.equal(200);
      expect(read.received.map((seen) => seen.path)).to.deep.equal(['/api/version/']);
    });
  });

  describe('5. duplicate and case-variant JSON keys', () => {
    const cases: [string, string, RegExp][] = [
      ['the last of two volumeSizeInKb', `{"name":"dup-size","storagePoolId":"${POOL.id}","volumeSizeInKb":"976562500","volumeSizeInKb":"8388608"}`, /duplicate key "volumeSizeInKb"/],
      ['two pools', `{"name":"dup-pool","storagePoolId":"${DEFAULT_POOLS[1]!.id}","storagePoolId":"${POOL.id}","volumeSizeInKb":"8388608"}`, /duplicate key "storagePoolId"/],
      ['VolumeSizeInKb beside volumeSizeInKb', `{"name":"case-size","storagePoolId":"${POOL.id}","VolumeSizeInKb":"976562500","volumeSizeInKb":"8388608"}`, /key "VolumeSizeInKb" differs only by case from "volumeSizeInKb"/],
      ['a case-variant duplicate of another field', `{"name":"case-type","storagePoolId":"${POOL.id}","volumeSizeInKb":"8388608","volumeType":"ThinProvisioned","VOLUMETYPE":"ThickProvisioned"}`, /keys "volumeType" and "VOLUMETYPE" differ only by case/],
      ['a lone Name', `{"Name":"case-name","storagePoolId":"${POOL.id}","volumeSizeInKb":"8388608"}`, /key "Name" differs only by case from "name"/],
      ['an escaped duplicate', `{"name":"esc","storagePoolId":"${POOL.id}","volumeSizeInKb":"8388608","volume\\u0053izeInKb":"976562500"}`, /duplicate key "volumeSizeInKb"/],
    ];
    for (const [what, body, message] of cases) {
      it(`refuses a create with ${what}: 400 naming the key, never forwarded`, async () => {
        const { answer, received } = await arrayReceived(() => send('POST', '/api/types/Volume/instances/', { token: teamA.access, body }));
        expect(answer.status, answer.text).to.equal(400);
        expect(answer.json().message).to.match(message);
        expect(received).to.deep.equal([]);
      });
    }
  });

  describe('6. headers the array or a servlet filter may honour', () => {
    it('forwards only the headers the PowerFlex API needs, whatever the tenant sends', async () => {
      const dangerous: Record<string, string> = {
        'x-original-url': '/api/logout',
        'x-rewrite-url': '/api/logout',
        'x-original-method': 'DELETE',
        'x-http-method-override': 'DELETE',
        'x-http-method': 'DELETE',
        'x-method-override': 'DELETE',
        'x-real-ip': '10.0.0.1',
        'x-client-ip': '10.0.0.1',
        'true-client-ip': '10.0.0.1',
        'x-forwarded-for': '10.0.0.1',
        'x-forwarded-host': 'array.internal',
        'x-forwarded-prefix': '/admin',
        'x-forwarded-server': 'array.internal',
        'x-host': 'array.internal',
        'x-original-host': 'array.internal',
        'x-remote-addr': '127.0.0.1',
        'x-remote-ip': '127.0.0.1',
        'x-cluster-client-ip': '10.0.0.1',
        'cf-connecting-ip': '10.0.0.1',
        'fastly-client-ip': '10.0.0.1',
        'client-ip': '10.0.0.1',
        'x-csrf-token': 'tenant-csrf',
        'x-xsrf-token': 'tenant-csrf',
        cookie: 'JSESSIONID=tenant',
        'proxy-authorization': 'Basic dGVuYW50OnRlbmFudA==',
        'x-auth-token': 'tenant',
        'x-api-key': 'tenant',
        'x-envoy-original-path': '/api/logout',
        'x-user': 'admin',
        'remote-user': 'admin',
        'x-wap-profile': 'http://attacker/x.xml',
        referer: 'https://attacker/',
        origin: 'https://attacker',
        'user-agent': 'attacker',
        'accept-language': 'en',
        via: '1.1 attacker',
        [PATH_HEADER]: '/api/logout/',
      };
      const { answer, received } = await arrayReceived(() =>
        send('GET', '/api/types/Volume/instances/', { token: teamA.access, headers: { ...dangerous, accept: 'application/json;version=4.0' } }));
      expect(answer.status, answer.text).to.equal(200);
      expect(received).to.have.length(1);
      const seen = received[0]!.headers;
      expect(Object.keys(seen).filter((name) => name in dangerous || name === 'forwarded')).to.deep.equal([]);
      // What is left: the PowerFlex API's own headers, the array credential, and Envoy's.
      expect(Object.keys(seen).sort()).to.deep.equal(['accept', 'authorization', 'host', 'x-envoy-expected-rq-timeout-ms', 'x-forwarded-proto', 'x-request-id']);
      expect(seen.accept).to.equal('application/json;version=4.0');
      expect(String(seen.authorization)).to.match(/^Basic /).and.not.contain(teamA.access);
    });
  });

  describe('6b. the path the array executes, and what an answer carries', () => {
    it("executes the classified path, never a path header the tenant sends", async () => {
      const { answer, received } = await arrayReceived(() =>
        send('GET', '/api//types/Volume/instances?x=1', { token: teamA.access, headers: { [PATH_HEADER]: '/api/logout/' } }));
      expect(answer.status, answer.text).to.equal(200);
      expect(received.map((seen) => seen.path)).to.deep.equal(['/api/types/Volume/instances/?x=1']);
    });

    const metadataNames = ['tenant', 'operation', 'system', 'holds', 'hints', 'session-tag', 'deny-status'];

    it('gives a policy refusal (400) its status and body and none of the decision metadata', async () => {
      const { answer, received } = await arrayReceived(() =>
        send('POST', '/api/types/Volume/instances/', { token: teamA.access, body: createBody('too-big', 128 * GIB_IN_KIB) }));
      expect(answer.status, answer.text).to.equal(400);
      expect(answer.json().message).to.contain('no roles in [bronze-64g] allow');
      expect(received).to.deep.equal([]);
      expect(Object.keys(answer.headers).filter((name) => metadataNames.includes(name))).to.deep.equal([]);
    });

    it('gives a request for an unknown system its 502 and body and none of the decision metadata', async () => {
      const unknown = `for=csm-authorization;${gateway.url};0123456789abcdef,by=csm-authorization;csi-vxflexos`;
      const { answer, received } = await arrayReceived(() => send('GET', '/api/types/Volume/instances/', { token: teamA.access, headers: { forwarded: unknown } }));
      expect(answer.status, answer.text).to.equal(502);
      expect(answer.text).to.contain('0123456789abcdef');
      expect(received).to.deep.equal([]);
      expect(Object.keys(answer.headers).filter((name) => metadataNames.includes(name))).to.deep.equal([]);
    });

    // Over http_service the health path is the service's own (check/httpContract.ts); over gRPC it is just another array read.
    if (transport === 'http') {
      it("refuses the service's own health path to a tenant with 403; the array never sees it", async () => {
        const { answer, received } = await arrayReceived(() => send('GET', '/.storage-authz/health', { token: teamA.access }));
        expect(answer.status, answer.text).to.equal(403);
        expect(received).to.deep.equal([]);
      });
    }
  });

  describe('fuzz findings, replayed', () => {
    it('answers by=__proto__ (and other Object.prototype names) with 502 "plugin id not found", naming it', async () => {
      for (const plugin of ['__proto__', 'constructor']) {
        const answer = await send('GET', '/api/version', { token: teamA.access, headers: { forwarded: `for=csm-authorization;${gateway.url};${gateway.systemId},by=csm-authorization;${plugin}` } });
        expect(answer.status, answer.text).to.equal(502);
        expect(answer.json().error).to.equal(`plugin id not found: "${plugin}"`);
      }
    });
  });

  describe('7. Dell-minted tokens of v1.6.0 and before', () => {
    it('accepts a Dell v1.6.0 access token (com.dell.karavi / karavi / karavi-tenant) with the default configuration', async () => {
      const { answer, received } = await arrayReceived(() => send('GET', '/api/types/Volume/instances/', { token: dellV16Token('team-a', nowSeconds() + 60) }));
      expect(answer.status, answer.text).to.equal(200);
      expect(received).to.have.length(1);
    });

    it('tells a Dell v1.6.0 refresh token (720 h) from its access token by lifetime: refused as Bearer, accepted for a refresh', async () => {
      const access = dellV16Token('team-a', nowSeconds() + 60);
      const refresh = dellV16Token('team-a', nowSeconds() + 720 * 3600);
      const asBearer = await send('GET', '/api/types/Volume/instances/', { token: refresh });
      expect(asBearer.status, asBearer.text).to.equal(401);
      const refreshed = await send('POST', '/proxy/refresh-token/', { body: JSON.stringify({ refreshToken: refresh, accessToken: access }) });
      expect(refreshed.status, refreshed.text).to.equal(200);
      expect((await send('GET', '/api/version', { token: refreshed.json().accessToken as string })).status).to.equal(200);
    });
  });
});
}
