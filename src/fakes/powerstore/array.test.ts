// The fake PowerStore's own rules, as the REST API guide describes them: queries (filters, select,
// paging), errors in PowerStore's shape with the codes gopowerstore tells apart.
import { expect } from 'chai';
import { Agent, request } from 'undici';
import { FakePowerStore, GIB } from './array.js';

describe('fake PowerStore', () => {
  let array: FakePowerStore;
  let tls: Agent;
  let headers: Record<string, string>;

  async function call(method: string, path: string, body?: unknown) {
    const response = await request(`${array.url}${path}`, {
      method: method as 'GET', headers: { ...headers, accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body), dispatcher: tls,
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }

  before(async () => {
    array = await FakePowerStore.start();
    tls = new Agent({ connect: { ca: array.ca } });
    headers = { authorization: `Basic ${Buffer.from('admin:Password123!').toString('base64')}` };
    const login = await call('GET', '/api/rest/login_session');
    expect(login.body).to.have.nested.property('[0].idle_timeout', 3600);
    headers = { cookie: String(login.headers['set-cookie']).split(';')[0]!, 'dell-emc-token': String(login.headers['dell-emc-token']) };
    for (const name of ['a', 'b', 'c']) expect((await call('POST', '/api/rest/volume', { name, size: GIB })).status).to.equal(201);
  });

  after(async () => {
    await tls.close();
    await array.stop();
  });

  it('filters with eq., selects fields, and pages with 206 Partial Content and a Content-Range', async () => {
    expect((await call('GET', '/api/rest/volume?name=eq.b&select=id,name')).body).to.have.length(1).and.to.satisfy((rows: object[]) => Object.keys(rows[0]!).join() === 'id,name');
    const first = await call('GET', '/api/rest/volume?select=name&limit=2&offset=0&order=name');
    expect(first.status).to.equal(206);
    expect(first.headers['content-range']).to.equal('0-1/3');
    expect(first.body).to.deep.equal([{ name: 'a' }, { name: 'b' }]);
    const last = await call('GET', '/api/rest/volume?select=name&limit=2&offset=2&order=name');
    expect([last.status, last.body]).to.deep.equal([200, [{ name: 'c' }]]);
    const [a] = (await call('GET', '/api/rest/volume?name=eq.a&select=id')).body as { id: string }[];
    const snap = (await call('POST', `/api/rest/volume/${a!.id}/snapshot`, { name: 'a-snap', description: '' })).body as { id: string };
    expect((await call('GET', `/api/rest/volume?protection_data->>source_id=eq.${a!.id}&type=eq.Snapshot&select=id`)).body).to.deep.equal([{ id: snap.id }]);
  });

  it('answers errors in PowerStore shape with the statuses gopowerstore tells apart', async () => {
    const missing = await call('GET', '/api/rest/volume/5a5a5a5a-0000-4000-8000-000000000000');
    expect(missing.status).to.equal(404);
    expect(missing.body).to.deep.equal({ messages: [{ code: '0xE0A08001000E', severity: 'Error', message_l10n: 'Could not find the volume with ID: 5a5a5a5a-0000-4000-8000-000000000000', arguments: ['5a5a5a5a-0000-4000-8000-000000000000'] }] });
    expect((await call('POST', '/api/rest/volume', { name: 'a', size: GIB })).status).to.equal(422); // VolumeNameIsAlreadyUse
    const [b] = (await call('GET', '/api/rest/volume?name=eq.b&select=id')).body as { id: string }[];
    expect((await call('PATCH', `/api/rest/volume/${b!.id}`, { size: GIB / 2 })).status).to.equal(422);
    expect((await call('POST', `/api/rest/host/${array.host.id}/detach`, { volume_id: b!.id })).status).to.equal(400); // VolumeIsNotAttachedToHost
    expect((await call('POST', '/api/rest/volume_group', {})).status).to.equal(404);
  });
});
