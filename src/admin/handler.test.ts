import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { MemoryLedger } from '../ledger/memory/memoryLedger.js';
import type { UsageRow } from '../ledger/types.js';
import type { ResourceSource } from '../resources/types.js';
import { silentLogger } from '../telemetry/log.js';
import { mintTokenPair } from '../tokens/mint.js';
import type { SigningKeySet } from '../tokens/types.js';
import { TokenVerifier } from '../tokens/verify.js';
import { createAdminHandler } from './handler.js';

const keys: SigningKeySet = { defaultKid: 'k1', keys: new Map([['k1', new TextEncoder().encode('unit-test-signing-key-0123456789abcdef')]]) };
const emptyResources: ResourceSource = {
  current: () => ({ generation: 1, tenants: new Map(), roles: new Map(), storage: new Map() }),
  onChange: () => () => undefined,
  credentials: () => Promise.reject(new Error('not used')),
};

/** A ledger failing in a way nobody planned for, with a detail that must not reach the caller. */
class BrokenLedger extends MemoryLedger {
  override usage(): Promise<UsageRow[]> {
    return Promise.reject(new Error('connect ECONNREFUSED redis://:hunter2@10.0.0.9'));
  }
}

describe('admin handler failures', () => {
  let server: http.Server;
  let url: string;

  before(async () => {
    const handler = createAdminHandler({ resources: emptyResources, ledger: new BrokenLedger(), verifier: new TokenVerifier({ keys: () => keys }), keys: () => keys, logger: silentLogger });
    server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers an unexpected failure with 500 "internal error", keeping the detail out of the response', async () => {
    const { access } = await mintTokenPair({ keys, subject: 'csm-admin', group: 'admin', roles: [], accessTtlSeconds: 60, refreshTtlSeconds: 120 });
    const response = await request(`${url}/proxy/usage/`, { headers: { authorization: `Bearer ${access}` } });
    expect(response.statusCode).to.equal(500);
    expect(await response.body.json()).to.deep.equal({ error: 'internal error', code: 500 });
  });

  it('rejects a path that cannot be normalised with 400', async () => {
    const response = await request(`${url}/proxy/%2e%2e%2fusage/`);
    expect(response.statusCode).to.equal(400);
    expect(await response.body.json()).to.have.property('code', 400);
  });
});
