import { expect } from 'chai';
import type { Deny } from '../pipeline/types.js';
import { toHttpAnswer } from './httpResponse.js';

const deny = (status: number, headers: Deny['headers'] = [{ name: 'content-type', value: 'application/json' }]): Deny => ({
  kind: 'deny',
  status,
  headers,
  body: '{"error":"x"}',
  reason: 'r',
  metadata: { tenant: 'team-a' },
});

describe('toHttpAnswer', () => {
  it('allows with 200: the sets, the classified path, the removals and the metadata as headers', () => {
    const answer = toHttpAnswer(
      {
        kind: 'allow',
        setHeaders: [{ name: 'authorization', value: 'Basic abc' }, { name: 'x-storage-authz-cluster', value: 'storage-pf' }, { name: ':path', value: '/api/x/' }],
        removeHeaders: ['cookie', 'x-storage-authz-path'],
        metadata: { tenant: 'team-a', holds: 'r-1' },
      },
      '/api/x',
    );
    expect(answer).to.deep.equal({
      status: 200,
      headers: [
        ['authorization', 'Basic abc'],
        ['x-storage-authz-cluster', 'storage-pf'],
        ['x-storage-authz-path', '/api/x/'],
        // The path header Envoy must still find after the removals is never among them.
        ['x-envoy-auth-headers-to-remove', 'cookie'],
        ['tenant', 'team-a'],
        ['holds', 'r-1'],
      ],
      body: '',
    });
  });

  it("sets the request's own path when the decision keeps it, so a tenant's path header is overwritten", () => {
    const answer = toHttpAnswer({ kind: 'allow', setHeaders: [], removeHeaders: [], metadata: {} }, '/api/types/Volume/instances/');
    expect(answer.headers).to.deep.equal([['x-storage-authz-path', '/api/types/Volume/instances/']]);
  });

  it('denies a 4xx with its own status, headers and body', () => {
    expect(toHttpAnswer(deny(401), '/')).to.deep.equal({ status: 401, headers: [['content-type', 'application/json'], ['tenant', 'team-a']], body: '{"error":"x"}' });
  });

  it('denies a 2xx local answer and a 5xx as a 403 naming the status, which the edge restores', () => {
    const login = toHttpAnswer(deny(201, [{ name: 'set-cookie', value: 'a=1' }, { name: 'set-cookie', value: 'b=2' }]), '/');
    expect(login.status).to.equal(403);
    expect(login.headers).to.deep.equal([['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['tenant', 'team-a'], ['deny-status', '201']]);
    expect(toHttpAnswer(deny(507), '/').headers.at(-1)).to.deep.equal(['deny-status', '507']);
  });

  it('refuses to write a decision the edge would not carry whole', () => {
    expect(() => toHttpAnswer({ kind: 'allow', setHeaders: [{ name: 'x-anything', value: '1' }], removeHeaders: [], metadata: {} }, '/')).to.throw('allow header "x-anything"');
    expect(() => toHttpAnswer(deny(400, [{ name: 'location', value: '/x' }]), '/')).to.throw('deny header "location"');
    expect(() => toHttpAnswer({ ...deny(400), metadata: { surprise: '1' } }, '/')).to.throw('metadata header "surprise"');
    expect(() => toHttpAnswer(deny(302), '/')).to.throw('deny status 302');
  });
});
