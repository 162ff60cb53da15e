import { expect } from 'chai';
import type { RequestView } from '../pipeline/types.js';
import { sidecarDecide } from './decide.js';
import type { CurrentToken } from './tokenHolder.js';

const request: RequestView = {
  id: 'r1',
  method: 'POST',
  path: '/api/types/Volume/instances',
  headers: { authorization: 'Basic cGxhY2Vob2xkZXI6cGxhY2Vob2xkZXI=', cookie: 'isisessid=abc', 'x-csrf-token': 'c' },
  body: Buffer.alloc(0),
};

describe('sidecar Check decision', () => {
  it("replaces the driver's credentials with the current bearer token", async () => {
    const decision = await sidecarDecide({ awaitToken: async (): Promise<CurrentToken> => ({ kind: 'token', accessToken: 'eyJ.a.b' }) })(request);
    expect(decision).to.deep.equal({
      kind: 'allow',
      setHeaders: [{ name: 'authorization', value: 'Bearer eyJ.a.b' }],
      removeHeaders: ['cookie', 'x-csrf-token', 'proxy-authorization'],
      metadata: {},
    });
  });

  it('fails closed with 503 and the reason when there is no valid token', async () => {
    const reason = 'token refresh refused (tenant-revoked): the tenant has been revoked: ask the storage admin to cancel the revocation';
    const decision = await sidecarDecide({ awaitToken: async (): Promise<CurrentToken> => ({ kind: 'unavailable', reason }) })(request);
    expect(decision.kind).to.equal('deny');
    if (decision.kind !== 'deny') return;
    expect(decision.status).to.equal(503);
    expect(decision.headers).to.deep.equal([{ name: 'content-type', value: 'application/json' }]);
    expect(JSON.parse(decision.body)).to.deep.equal({ error: `storage-authz sidecar has no valid access token: ${reason}`, code: 503 });
  });
});
