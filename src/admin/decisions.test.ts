import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { MemoryLedger } from '../ledger/memory/memoryLedger.js';
import type { ResourceSource } from '../resources/types.js';
import { MemoryRecentDecisions, type DecisionRecord } from '../telemetry/audit.js';
import { silentLogger } from '../telemetry/log.js';
import { mintTokenPair } from '../tokens/mint.js';
import type { SigningKeySet } from '../tokens/types.js';
import { TokenVerifier } from '../tokens/verify.js';
import { explain } from './explain.js';
import { createAdminHandler } from './handler.js';

const GiB = 1024 * 1024;
const keys: SigningKeySet = { defaultKid: 'k1', keys: new Map([['k1', new TextEncoder().encode('unit-test-signing-key-0123456789abcdef')]]) };
const resources: ResourceSource = {
  current: () => ({ generation: 1, tenants: new Map(), roles: new Map(), storage: new Map() }),
  onChange: () => () => undefined,
  credentials: () => Promise.reject(new Error('not used')),
};
const base = { time: new Date().toISOString(), outcome: 'deny', phase: 'ledger', method: 'POST', durationMs: 1, arrayType: 'powerflex', systemID: '7045c4cc20dffc0f' } as const;
const quotaDenial: DecisionRecord = { ...base, id: 'q1', status: 507, reason: 'quota-exceeded', tenant: 'team-a', pool: 'bronze', volume: 'k8s-2', quotaKiB: 32 * GiB, usedKiB: 32 * GiB, requestedKiB: 16 * GiB };
const ownershipDenial: DecisionRecord = { ...base, id: 'o1', status: 403, reason: 'not-owner', tenant: 'team-b', pool: 'bronze', volume: 'k8s-1', operation: 'volume-delete' };

describe('why-denied explanations', () => {
  it('says how much more quota a quota denial needs, and where', async () => {
    expect(await explain(quotaDenial, new MemoryLedger())).to.match(/^needs 16 GiB more quota in pool bronze on powerflex system "7045c4cc20dffc0f" \(quota 32 GiB, used 32 GiB, requested 16 GiB\)/);
  });

  it('names the owner of a volume another tenant was refused, or says nobody holds it', async () => {
    const ledger = new MemoryLedger();
    await ledger.reserve({ systemType: 'powerflex', systemID: '7045c4cc20dffc0f', pool: 'bronze', tenant: 'team-a' }, 'k8s-1', 8 * GiB, { kind: 'unlimited' });
    expect(await explain(ownershipDenial, ledger)).to.equal('volume "k8s-1" is owned by tenant "team-a": only its owner may delete it');
    expect(await explain(ownershipDenial, new MemoryLedger())).to.contain('is charged to no tenant in the ledger');
  });

  it('explains a report-mode allow as the quota denial it would have been', async () => {
    const { status, reason, quotaKiB, usedKiB, requestedKiB } = quotaDenial;
    const reported: DecisionRecord = {
      ...quotaDenial, outcome: 'allow', reason: 'allowed', status: undefined, quotaKiB: undefined, usedKiB: undefined, requestedKiB: undefined,
      wouldDeny: { status: status!, reason, message: 'request denied: not enough quota', quotaKiB, usedKiB, requestedKiB },
    };
    expect(await explain(reported, new MemoryLedger())).to.match(
      /^allowed only because the quota is report-only here; enforced, it would be denied 507 \(quota-exceeded\): needs 16 GiB more quota in pool bronze/,
    );
  });

  it('tells what to do about a refused token', async () => {
    const text = await explain({ ...base, id: 't1', status: 401, reason: 'token-expired', phase: 'identity', message: 'token has expired' }, new MemoryLedger());
    expect(text).to.contain('the token was refused (token has expired)').and.contain('authzctl generate token');
  });
});

describe('admin API: /proxy/decisions/', () => {
  let server: http.Server;
  let url: string;
  let bearer: string;

  before(async () => {
    const decisions = new MemoryRecentDecisions();
    await decisions.add(quotaDenial);
    await decisions.add(ownershipDenial);
    const handler = createAdminHandler({ resources, ledger: new MemoryLedger(), decisions, verifier: new TokenVerifier({ keys: () => keys }), keys: () => keys, logger: silentLogger });
    server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/proxy/decisions/`;
    bearer = `Bearer ${(await mintTokenPair({ keys, subject: 'csm-admin', group: 'admin', roles: [], accessTtlSeconds: 60, refreshTtlSeconds: 120 })).access}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  const get = async (query: string, authorization = bearer) => {
    const response = await request(`${url}?${query}`, { headers: { authorization } });
    return { status: response.statusCode, body: (await response.body.json()) as { decisions?: (DecisionRecord & { explanation: string })[]; error?: string } };
  };

  it('answers a request id with its record and explanation, and a tenant with its recent decisions', async () => {
    const byId = await get('id=q1');
    expect(byId.status).to.equal(200);
    expect(byId.body.decisions!.map((d) => d.id)).to.deep.equal(['q1']);
    expect(byId.body.decisions![0]!.explanation).to.contain('needs 16 GiB more quota');
    expect((await get('tenant=team-b&since=1h')).body.decisions!.map((d) => d.id)).to.deep.equal(['o1']);
    expect((await get('id=unknown')).body.decisions).to.deep.equal([]);
  });

  it('refuses a query without id or tenant, a bad --since and a tenant token, each with a JSON reason', async () => {
    expect(await get('volume=k8s-1')).to.deep.equal({ status: 400, body: { error: 'give "id" (a request id) or "tenant"', code: 400 } });
    const since = await get('tenant=team-a&since=yesterday');
    expect(since.status).to.equal(400);
    expect(since.body.error).to.match(/^query parameter "since": /);
    const tenant = (await mintTokenPair({ keys, subject: 'csm-tenant', group: 'team-a', roles: [], accessTtlSeconds: 60, refreshTtlSeconds: 120 })).access;
    expect((await get('id=q1', `Bearer ${tenant}`)).status).to.equal(403);
  });
});
