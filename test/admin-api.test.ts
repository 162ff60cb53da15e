// The admin API over HTTPS with the real token verifier, signing keys from files and a real Redis
// ledger: admin-only access, tenant token Secrets, usage and volumes, refresh, JSON errors — and no
// response, in the whole suite, carrying the signing secret or an array password.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { parse } from 'yaml';
import { RedisLedger } from '../src/ledger/redis/redisLedger.js';
import { DirectoryResources } from '../src/resources/directory.js';
import { silentLogger } from '../src/telemetry/log.js';
import { loadSigningKeys } from '../src/tokens/keys.js';
import { mintTokenPair, type TokenPair } from '../src/tokens/mint.js';
import type { SigningKeySet } from '../src/tokens/types.js';
import { TokenVerifier } from '../src/tokens/verify.js';
import { startAdminApi, type RunningAdminApi } from './support/adminApi.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { ADMIN_FIXTURE, writeFixtureDirs } from './support/adminFixtures.js';

const NO_DRIFT = { missingOnArray: 0, unaccountedOnArray: 0, sizeMismatch: 0, unrepaired: 0 };

const GiB = 1024 * 1024;

describe('admin API', function () {
  let dir: string;
  let keys: SigningKeySet;
  let verifier: TokenVerifier;
  let redis: RunningRedis;
  let ledger: RedisLedger;
  let resources: DirectoryResources;
  let api: RunningAdminApi;
  let agent: Agent;
  let admin: TokenPair;
  let tenantToken: TokenPair;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), 'admin-api-'));
    const dirs = await writeFixtureDirs(dir);
    keys = await loadSigningKeys(dirs.keysDir, ADMIN_FIXTURE.kid);
    resources = await DirectoryResources.open(dirs.resourcesDir, { secretsDir: dirs.secretsDir, logger: silentLogger });
    verifier = new TokenVerifier({ keys: () => keys });
    redis = await startRedis();
    ledger = await RedisLedger.connect({ url: redis.url, commandTimeoutMs: 500, connectTimeoutMs: 5000 });
    api = await startAdminApi({ resources, ledger, verifier, keys: () => keys, logger: silentLogger });
    agent = new Agent({ connect: { ca: api.caPem } });
    admin = await mint('csm-admin', 'admin', []);
    tenantToken = await mint('csm-tenant', 'team-a', ['gold']);
  });

  after(async function () {
    await agent?.close();
    await api?.close();
    await ledger?.close();
    await redis?.stop();
    resources?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function mint(subject: 'csm-admin' | 'csm-tenant', group: string, roles: string[], now?: number): Promise<TokenPair> {
    return mintTokenPair({ keys, subject, group, roles, accessTtlSeconds: 60, refreshTtlSeconds: 3600, now });
  }

  async function call(method: string, urlPath: string, options: { token?: string; body?: unknown; rawBody?: string } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const response = await request(`${api.url}${urlPath}`, { method: method as 'GET', headers, body, dispatcher: agent });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, json: JSON.parse(text) as Record<string, unknown> };
  }

  const ADMIN_ENDPOINTS: Array<[string, string, unknown]> = [
    ['POST', '/proxy/tenant/token/', { tenant: 'team-a' }],
    ['GET', '/proxy/usage/', undefined],
    ['GET', '/proxy/volumes/', undefined],
    ['POST', '/proxy/refresh-admin/', { Access: 'x', Refresh: 'y' }],
  ];

  describe('authentication', function () {
    for (const [method, endpoint, body] of ADMIN_ENDPOINTS) {
      // Usage and volumes also serve tenant tokens, each its own tenant only (see "tenant tokens").
      if (endpoint !== '/proxy/usage/' && endpoint !== '/proxy/volumes/') it(`refuses a tenant token on ${method} ${endpoint} with 403`, async function () {
        // The admin refresh takes the refresh token as Bearer (Dell's CLI); every other endpoint the access token.
        const token = endpoint === '/proxy/refresh-admin/' ? tenantToken.refresh : tenantToken.access;
        const reply = await call(method, endpoint, { token, body });
        expect(reply.status).to.equal(403);
        expect(reply.json).to.deep.equal({ error: 'admin token required; this token\'s subject is "csm-tenant"', code: 403 });
      });

      it(`refuses ${method} ${endpoint} without a token with 401`, async function () {
        const reply = await call(method, endpoint, { body });
        expect(reply.status).to.equal(401);
        expect(reply.json.code).to.equal(401);
        expect(reply.json.error).to.match(/missing Authorization header/);
      });
    }

    it('refuses an admin token signed with another key, an expired one, and a Basic header with 401', async function () {
      const foreign = await mintTokenPair({
        keys: { defaultKid: ADMIN_FIXTURE.kid, keys: new Map([[ADMIN_FIXTURE.kid, new TextEncoder().encode('another-secret-0123456789-abcdefghijklmnop')]]) },
        subject: 'csm-admin', group: 'admin', roles: [], accessTtlSeconds: 60, refreshTtlSeconds: 120,
      });
      const expired = await mint('csm-admin', 'admin', [], Math.floor(Date.now() / 1000) - 7200);
      for (const token of [foreign.access, expired.access]) {
        const reply = await call('GET', '/proxy/usage/', { token });
        expect(reply.status).to.equal(401);
        expect(reply.json.error).to.match(/^invalid token: /);
      }
      const basic = await request(`${api.url}/proxy/usage/`, { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' }, dispatcher: agent });
      expect(basic.statusCode).to.equal(401);
      expect(await basic.body.json()).to.deep.equal({ error: 'invalid authz header', code: 401 });
    });
  });

  describe('request errors are JSON {error, code}', function () {
    it('answers an unknown path with 404 and a wrong method with 405 naming the allowed one', async function () {
      const missing = await call('GET', '/proxy/nothing/', { token: admin.access });
      expect(missing).to.deep.include({ status: 404, json: { error: 'no admin endpoint /proxy/nothing/', code: 404 } });
      const wrong = await call('DELETE', '/proxy/usage/', { token: admin.access });
      expect(wrong.status).to.equal(405);
      expect(wrong.headers.allow).to.equal('GET');
      expect(wrong.json).to.deep.equal({ error: 'DELETE is not allowed on /proxy/usage/; use GET', code: 405 });
    });

    it('answers malformed JSON with 400 and an oversized body with 413', async function () {
      const malformed = await call('POST', '/proxy/tenant/token/', { token: admin.access, rawBody: '{"tenant":' });
      expect(malformed).to.deep.include({ status: 400, json: { error: 'request body is not valid JSON', code: 400 } });
      const huge = await call('POST', '/proxy/tenant/token/', { token: admin.access, body: { tenant: 'x'.repeat(70 * 1024) } });
      expect(huge.status).to.equal(413);
      expect(huge.json.code).to.equal(413);
    });

    it('accepts the path without its trailing slash, as Dell cleans paths', async function () {
      const reply = await call('GET', '/proxy/usage', { token: admin.access });
      expect(reply.status).to.equal(200);
    });
  });

  describe('POST /proxy/tenant/token/', function () {
    it('returns a proxy-authz-tokens Secret whose tokens verify as the tenant with its roles', async function () {
      const reply = await call('POST', '/proxy/tenant/token/', {
        token: admin.access,
        body: { tenant: 'team-a', accessTokenTTL: '1m0s', refreshTokenTTL: '720h0m0s' },
      });
      expect(reply.status).to.equal(200);
      const secret = parse(reply.json.Token as string) as { apiVersion: string; kind: string; type: string; metadata: { name: string }; data: { access: string; refresh: string } };
      expect(secret).to.deep.include({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque' });
      expect(secret.metadata.name).to.equal('proxy-authz-tokens');
      const access = await verifier.verify(Buffer.from(secret.data.access, 'base64').toString());
      const refresh = await verifier.verify(Buffer.from(secret.data.refresh, 'base64').toString(), 'refresh');
      for (const claims of [access, refresh]) expect(claims).to.include({ sub: 'csm-tenant', group: 'team-a', roles: 'gold' });
      expect(access.exp - (access.iat ?? 0)).to.equal(60);
      expect(refresh.exp - (refresh.iat ?? 0)).to.equal(720 * 3600);
    });

    const refusals: Array<[string, unknown, number, RegExp]> = [
      ['an unknown tenant', { tenant: 'nobody' }, 404, /^tenant "nobody" not found$/],
      ['a revoked tenant', { tenant: 'revoked' }, 409, /^tenant "revoked" is revoked/],
      ['a tenant without roles', { tenant: 'no-roles' }, 409, /^tenant "no-roles" has no roles/],
      ['a missing tenant field', {}, 400, /^field "tenant" is required$/],
      ['an unparsable lifetime', { tenant: 'team-a', accessTokenTTL: '30d' }, 400, /^accessTokenTTL: .*unknown unit "d"/],
      ['an access lifetime longer than the refresh lifetime', { tenant: 'team-a', accessTokenTTL: '2h', refreshTokenTTL: '1h' }, 400, /must not be longer/],
    ];
    for (const [what, body, status, message] of refusals) {
      it(`refuses ${what} with ${status} and the reason`, async function () {
        const reply = await call('POST', '/proxy/tenant/token/', { token: admin.access, body });
        expect(reply.status).to.equal(status);
        expect(reply.json.code).to.equal(status);
        expect(reply.json.error).to.match(message);
        expect(reply.json).to.not.have.property('Token');
      });
    }
  });

  describe('usage and volumes', function () {
    it("shows a tenant's quota from its roles before any volume exists", async function () {
      const reply = await call('GET', '/proxy/usage/?tenant=team-a', { token: admin.access });
      expect(reply.status).to.equal(200);
      expect(reply.json.usage).to.deep.equal([
        { tenant: 'team-a', systemType: 'powerflex', systemID: ADMIN_FIXTURE.systemID, pool: 'bronze', roles: ['gold'], quotaKiB: 100 * GiB, usedKiB: 0, reservedKiB: 0, freeKiB: 100 * GiB, volumes: 0, drift: NO_DRIFT, enforcement: 'enforce', overQuotaKiB: 0 },
      ]);
    });

    it('shows committed and reserved capacity and volume counts from the ledger, and those volumes by name', async function () {
      const scope = { systemType: 'powerflex' as const, systemID: ADMIN_FIXTURE.systemID, pool: 'bronze', tenant: 'team-a' };
      const quota = { kind: 'limited' as const, kib: 100 * GiB };
      const first = await ledger.reserve(scope, 'k8s-vol-1', 8 * GiB, quota);
      if (first.status !== 'approved') throw new Error(`reserve: ${first.status}`);
      await ledger.commit(first.reservation);
      await ledger.reserve(scope, 'k8s-vol-2', 16 * GiB, quota);

      const usage = await call('GET', '/proxy/usage/?tenant=team-a', { token: admin.access });
      expect(usage.json.usage).to.deep.equal([
        { tenant: 'team-a', systemType: 'powerflex', systemID: ADMIN_FIXTURE.systemID, pool: 'bronze', roles: ['gold'], quotaKiB: 100 * GiB, usedKiB: 8 * GiB, reservedKiB: 16 * GiB, freeKiB: 76 * GiB, volumes: 1, drift: NO_DRIFT, enforcement: 'enforce', overQuotaKiB: 0 },
      ]);
      const volumes = await call('GET', '/proxy/volumes/?tenant=team-a', { token: admin.access });
      expect(volumes.json.volumes).to.deep.equal([
        { tenant: 'team-a', systemType: 'powerflex', systemID: ADMIN_FIXTURE.systemID, pool: 'bronze', name: 'k8s-vol-1', sizeKiB: 8 * GiB, state: 'committed' },
        { tenant: 'team-a', systemType: 'powerflex', systemID: ADMIN_FIXTURE.systemID, pool: 'bronze', name: 'k8s-vol-2', sizeKiB: 16 * GiB, state: 'reserved' },
      ]);
    });

    it("lists every tenant's volumes by name, sorted by tenant, system, pool and name; a deleting one is marked, a deleted one is gone", async function () {
      const at = (tenant: string, pool: string) => ({ systemType: 'powerflex' as const, systemID: ADMIN_FIXTURE.systemID, pool, tenant });
      const create = async (scope: ReturnType<typeof at>, name: string, kib: number) => {
        const reserved = await ledger.reserve(scope, name, kib, { kind: 'unlimited' });
        if (reserved.status !== 'approved') throw new Error(`reserve: ${reserved.status}`);
        await ledger.commit(reserved.reservation);
      };
      const beginDelete = async (scope: ReturnType<typeof at>, name: string) => {
        const begun = await ledger.beginDelete(scope, name);
        if (begun.status !== 'ok') throw new Error(`beginDelete: ${begun.status}`);
        return begun.deletion;
      };
      await create(at('no-roles', 'silver'), 'k8s-b', 2 * GiB);
      await create(at('no-roles', 'bronze'), 'k8s-z', 3 * GiB);
      await create(at('no-roles', 'bronze'), 'k8s-a', 4 * GiB);
      await beginDelete(at('no-roles', 'bronze'), 'k8s-a');
      await create(at('no-roles', 'bronze'), 'k8s-gone', GiB);
      await ledger.commitDelete(await beginDelete(at('no-roles', 'bronze'), 'k8s-gone'));

      const all = await call('GET', '/proxy/volumes/', { token: admin.access });
      expect(all.status).to.equal(200);
      const listed = (all.json.volumes as { tenant: string; pool: string; name: string; sizeKiB: number; state: string }[]).map((v) => [v.tenant, v.pool, v.name, v.sizeKiB, v.state]);
      expect(listed).to.deep.equal([
        ['no-roles', 'bronze', 'k8s-a', 4 * GiB, 'deleting'],
        ['no-roles', 'bronze', 'k8s-z', 3 * GiB, 'committed'],
        ['no-roles', 'silver', 'k8s-b', 2 * GiB, 'committed'],
        ['team-a', 'bronze', 'k8s-vol-1', 8 * GiB, 'committed'],
        ['team-a', 'bronze', 'k8s-vol-2', 16 * GiB, 'reserved'],
      ]);
      const revoked = await call('GET', '/proxy/volumes/?tenant=revoked', { token: admin.access });
      expect(revoked).to.deep.include({ status: 200, json: { volumes: [] } });
    });

    it("serves a tenant token its own volumes in Dell's shape and its own usage, never another tenant's", async function () {
      const volumes = await call('GET', '/proxy/volumes/', { token: tenantToken.access });
      expect(volumes.status).to.equal(200);
      expect(volumes.json).to.deep.equal([
        { name: 'k8s-vol-1', size: 8, systemId: ADMIN_FIXTURE.systemID, id: '', pool: 'bronze', tenant: 'team-a', systemType: 'powerflex', sizeKiB: 8 * GiB, state: 'committed' },
        { name: 'k8s-vol-2', size: 16, systemId: ADMIN_FIXTURE.systemID, id: '', pool: 'bronze', tenant: 'team-a', systemType: 'powerflex', sizeKiB: 16 * GiB, state: 'reserved' },
      ]);
      const usage = await call('GET', '/proxy/usage/', { token: tenantToken.access });
      expect((usage.json.usage as { tenant: string }[]).map((row) => row.tenant)).to.deep.equal(['team-a']);
      for (const endpoint of ['/proxy/usage/', '/proxy/volumes/']) {
        const other = await call('GET', `${endpoint}?tenant=no-roles`, { token: tenantToken.access });
        expect(other).to.deep.include({ status: 403, json: { error: 'a tenant token shows only its own tenant ("team-a"), not "no-roles"', code: 403 } });
        const own = await call('GET', `${endpoint}?tenant=team-a`, { token: tenantToken.access });
        expect(own.status).to.equal(200);
      }
    });

    it('refuses the tenant reads to a revoked tenant (401, as Dell), an unknown tenant (403) and a tenant refresh token (401)', async function () {
      const revoked = await mint('csm-tenant', 'revoked', ['gold']);
      const unknown = await mint('csm-tenant', 'nobody', ['gold']);
      for (const endpoint of ['/proxy/usage/', '/proxy/volumes/']) {
        expect(await call('GET', endpoint, { token: revoked.access })).to.deep.include({ status: 401, json: { error: 'tenant has been revoked', code: 401 } });
        expect(await call('GET', endpoint, { token: unknown.access })).to.deep.include({ status: 403, json: { error: 'tenant "nobody" is not configured', code: 403 } });
        expect((await call('GET', endpoint, { token: tenantToken.refresh })).status).to.equal(401);
      }
    });

    it('answers 404 for usage or volumes of an unknown tenant, and 400 for an empty tenant', async function () {
      for (const endpoint of ['/proxy/usage/', '/proxy/volumes/']) {
        const reply = await call('GET', `${endpoint}?tenant=nobody`, { token: admin.access });
        expect(reply).to.deep.include({ status: 404, json: { error: 'tenant "nobody" not found', code: 404 } });
        const empty = await call('GET', `${endpoint}?tenant=`, { token: admin.access });
        expect(empty).to.deep.include({ status: 400, json: { error: 'query parameter "tenant" is empty', code: 400 } });
      }
    });
  });

  describe('token kinds', function () {
    it('refuses an admin refresh token as Bearer on every admin endpoint but the admin refresh, 401', async function () {
      for (const [method, endpoint, body] of ADMIN_ENDPOINTS.filter(([, endpoint]) => endpoint !== '/proxy/refresh-admin/')) {
        const reply = await call(method, endpoint, { token: admin.refresh, body });
        expect(reply.status, endpoint).to.equal(401);
        expect(reply.json.error).to.match(/refresh token is not accepted here/);
      }
    });

    it('refuses an admin access token as Bearer on the admin refresh, 401', async function () {
      const reply = await call('POST', '/proxy/refresh-admin/', { token: admin.access, body: { Access: admin.access, Refresh: admin.refresh } });
      expect(reply.status).to.equal(401);
      expect(reply.json.error).to.match(/access token is not accepted here/);
    });

    it('refuses a tenant refresh whose pair is swapped, 401 wrong-token-kind', async function () {
      const reply = await call('POST', '/proxy/refresh-token/', { body: { refreshToken: tenantToken.access, accessToken: tenantToken.refresh } });
      expect(reply).to.deep.include({ status: 401 });
      expect(reply.json.reason).to.equal('wrong-token-kind');
    });
  });

  describe('token refresh', function () {
    it('gives an admin a new access token for an expired one, which then works', async function () {
      const old = await mintTokenPair({ keys, subject: 'csm-admin', group: 'admin', roles: [], accessTtlSeconds: 60, refreshTtlSeconds: 86400, now: Math.floor(Date.now() / 1000) - 3600 });
      expect((await call('GET', '/proxy/usage/', { token: old.access })).status).to.equal(401);
      const reply = await call('POST', '/proxy/refresh-admin/', { token: old.refresh, body: { access: old.access, refresh: old.refresh } });
      expect(reply.status).to.equal(200);
      const fresh = reply.json.AccessToken as string;
      expect((await verifier.verify(fresh)).sub).to.equal('csm-admin');
      expect((await call('GET', '/proxy/usage/', { token: fresh })).status).to.equal(200);
    });

    it("refuses to refresh with another admin's access token", async function () {
      const other = await mint('csm-admin', 'someone-else', []);
      const reply = await call('POST', '/proxy/refresh-admin/', { token: admin.refresh, body: { Access: other.access, Refresh: admin.refresh } });
      expect(reply).to.deep.include({ status: 401, json: { error: 'access and refresh tokens belong to different admins', code: 401 } });
    });

    it('serves the tenant refresh endpoint without admin authentication', async function () {
      const old = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'team-a', roles: ['gold'], accessTtlSeconds: 60, refreshTtlSeconds: 86400, now: Math.floor(Date.now() / 1000) - 3600 });
      const reply = await call('POST', '/proxy/refresh-token/', { body: { refreshToken: old.refresh, accessToken: old.access } });
      expect(reply.status).to.equal(200);
      expect(await verifier.verify(reply.json.accessToken as string)).to.include({ sub: 'csm-tenant', group: 'team-a' });
    });

    it('refuses a tenant refresh for a revoked tenant with 401', async function () {
      const old = await mintTokenPair({ keys, subject: 'csm-tenant', group: 'revoked', roles: ['gold'], accessTtlSeconds: 60, refreshTtlSeconds: 86400, now: Math.floor(Date.now() / 1000) - 3600 });
      const reply = await call('POST', '/proxy/refresh-token/', { body: { refreshToken: old.refresh, accessToken: old.access } });
      expect(reply.status).to.equal(401);
      expect(reply.json.error).to.match(/revoked/);
    });
  });

  describe('when the quota store is down', function () {
    it('answers usage and volumes with 503 "quota store unavailable" and still generates tokens', async function () {
      await redis.kill();
      for (const endpoint of ['/proxy/usage/', '/proxy/volumes/']) {
        const reply = await call('GET', endpoint, { token: admin.access });
        expect(reply).to.deep.include({ status: 503, json: { error: 'quota store unavailable', code: 503 } });
      }
      const token = await call('POST', '/proxy/tenant/token/', { token: admin.access, body: { tenant: 'team-a' } });
      expect(token.status).to.equal(200);
    });
  });

  // Last: mocha runs nested suites in order, so this sees every response of the suites above.
  describe('secrets', function () {
    it('never put the signing secret or an array password in any response of this suite', function () {
      const responses = api.responses();
      expect(responses.length).to.be.greaterThan(20);
      for (const body of responses) {
        expect(body).to.not.include(ADMIN_FIXTURE.signingSecret);
        expect(body).to.not.include(ADMIN_FIXTURE.arrayPassword);
        expect(body).to.not.include(Buffer.from(ADMIN_FIXTURE.signingSecret).toString('base64'));
        expect(body).to.not.include(Buffer.from(ADMIN_FIXTURE.arrayPassword).toString('base64'));
      }
    });
  });
});
