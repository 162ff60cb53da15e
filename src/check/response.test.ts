import { expect } from 'chai';
import { toCheckResponse } from './response.js';

describe('toCheckResponse', () => {
  it('allows with overwriting header mutations, removals and dynamic metadata', () => {
    const response = toCheckResponse({
      kind: 'allow',
      setHeaders: [{ name: 'authorization', value: 'Basic abc' }],
      removeHeaders: ['cookie'],
      metadata: { tenant: 'a', reservation: 'r-1' },
    });
    expect(response.status.code).to.equal(0);
    expect(response.ok_response).to.deep.equal({
      headers: [{ header: { key: 'authorization', value: 'Basic abc' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      headers_to_remove: ['cookie'],
    });
    expect(response.dynamic_metadata).to.deep.equal({ fields: { tenant: { stringValue: 'a' }, reservation: { stringValue: 'r-1' } } });
    expect(response.denied_response).to.equal(undefined);
  });

  it('denies with the HTTP status, headers and body; 401 maps to UNAUTHENTICATED', () => {
    const deny = (status: number) =>
      toCheckResponse({ kind: 'deny', status, headers: [{ name: 'content-type', value: 'application/json' }], body: '{"error":"x"}', reason: 'r', metadata: {} });
    const unauthenticated = deny(401);
    expect(unauthenticated.status.code).to.equal(16);
    expect(unauthenticated.denied_response?.status.code).to.equal(401);
    expect(unauthenticated.denied_response?.body).to.equal('{"error":"x"}');
    expect(unauthenticated.dynamic_metadata).to.equal(undefined);
    expect(deny(507).status.code).to.equal(7);
    expect(deny(507).ok_response).to.equal(undefined);
  });
});
