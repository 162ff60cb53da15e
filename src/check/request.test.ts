import { expect } from 'chai';
import { toRequestView } from './request.js';

describe('toRequestView', () => {
  it('prefers raw_body bytes over the UTF-8 body string', () => {
    const view = toRequestView({
      attributes: { request: { http: { id: 'r1', method: 'POST', path: '/api/x?q=1', headers: { 'Content-Type': 'application/json' }, body: 'mangled', raw_body: Buffer.from([0xff, 0x01]) } } },
    });
    expect(view).to.deep.include({ id: 'r1', method: 'POST', path: '/api/x?q=1' });
    expect(view.headers).to.deep.equal({ 'content-type': 'application/json' });
    expect([...view.body]).to.deep.equal([0xff, 0x01]);
  });

  it('falls back to the body string, then to an empty body', () => {
    expect(toRequestView({ attributes: { request: { http: { body: '{"a":1}' } } } }).body.toString()).to.equal('{"a":1}');
    expect(toRequestView({}).body.length).to.equal(0);
  });

  it('takes method and path from pseudo-headers when the fields are absent', () => {
    const view = toRequestView({ attributes: { request: { http: { headers: { ':method': 'get', ':path': '/api/version' } } } } });
    expect(view.method).to.equal('GET');
    expect(view.path).to.equal('/api/version');
  });
});
