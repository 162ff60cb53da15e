import { expect } from 'chai';
import { classifyPowerStore } from './classify.js';

const VOLUME = '0f8e12c4-8d2c-4bd4-9a1c-1f6b3c2d4e5f';
const FS = '61f2a1b0-0000-4000-8000-000000000001';
const classify = (method: string, path: string, body?: unknown) =>
  classifyPowerStore({ method, path, body: Buffer.from(body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)) });

describe('PowerStore classifier', () => {
  it('charges sizes in KiB, rounded up from bytes, on the system (no pool)', () => {
    expect(classify('POST', '/api/rest/volume', { name: 'csi-1', size: 8 * 1024 ** 3 + 1 }).operation).to.deep.equal({ kind: 'volume-create', poolId: '', sizeKiB: 8 * 1024 ** 2 + 1, name: 'csi-1' });
    expect(classify('POST', '/api/rest/file_system', { name: 'nfs-1', nas_server_id: 'n1', size_total: 3 * 1024 ** 3 }).operation).to.include({ kind: 'volume-create', sizeKiB: 3 * 1024 ** 2 });
    expect(classify('PATCH', `/api/rest/file_system/${FS}`, { size_total: 4 * 1024 ** 3 }).operation).to.deep.equal({ kind: 'volume-expand', volumeId: `file_system/${FS}`, newSizeKiB: 4 * 1024 ** 2 });
  });

  it('names volumes, file systems and exports by collection, so the lookups ask the right one', () => {
    expect(classify('DELETE', `/api/rest/volume/${VOLUME}`).operation).to.deep.equal({ kind: 'volume-delete', volumeId: `volume/${VOLUME}` });
    expect(classify('DELETE', `/api/rest/file_system/${FS}`).operation).to.deep.equal({ kind: 'volume-delete', volumeId: `file_system/${FS}` });
    expect(classify('POST', '/api/rest/host/h1/attach', { volume_id: VOLUME }).operation).to.deep.equal({ kind: 'volume-map', volumeId: `volume/${VOLUME}` });
    expect(classify('POST', '/api/rest/nfs_export', { name: 'e', file_system_id: FS, path: '/e' }).operation).to.deep.equal({ kind: 'volume-map', volumeId: `file_system/${FS}` });
    expect(classify('DELETE', '/api/rest/nfs_export/e1').operation).to.deep.equal({ kind: 'volume-unmap', volumeId: 'nfs_export/e1' });
    expect(classify('POST', `/api/rest/volume/${VOLUME}/clone`, { name: 'c' }).operation).to.deep.equal({ kind: 'volume-clone', volumeId: `volume/${VOLUME}`, name: 'c' });
    expect(classify('POST', `/api/rest/volume/${VOLUME}/snapshot`, { name: 's', description: '' }).operation).to.deep.equal({ kind: 'snapshot-create', snapshots: [{ volumeId: `volume/${VOLUME}`, snapshotName: 's' }] });
  });

  it('matches routes whatever their case, and forwards the normalised path without a trailing slash', () => {
    const classified = classify('DELETE', `/API/Rest/./Volume/${VOLUME}/`);
    expect(classified.operation).to.deep.equal({ kind: 'volume-delete', volumeId: `volume/${VOLUME}` });
    expect(classified.path).to.equal(`/API/Rest/Volume/${VOLUME}`);
    expect(classify('GET', '/api/rest/volume?name=eq.csi-1&select=*').path).to.equal('/api/rest/volume?name=eq.csi-1&select=*');
    expect(classify('POST', '/api/rest/volume/../host', {}).operation).to.deep.equal({ kind: 'unknown-mutation' });
  });

  it('refuses malformed bodies with a clear 400, before anything is decided', () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/api/rest/volume', '{"name":"x",', /not valid JSON/],
      ['POST', '/api/rest/volume', { name: 'x', size: '8589934592' }, /"size" must be a positive whole number of bytes, got "8589934592"/],
      ['POST', '/api/rest/volume', { name: 'x', size: 1.5 }, /"size" must be a positive whole number/],
      ['POST', '/api/rest/volume', { size: 1024 }, /"name" is required/],
      ['POST', '/api/rest/volume', '{"name":"x","size":1024,"Size":8589934592000}', /differ only by case/],
      ['POST', '/api/rest/volume', '{"name":"x","size":1024,"size":8589934592000}', /duplicate key "size"/],
      ['PATCH', `/api/rest/volume/${VOLUME}`, { size: -1 }, /"size" must be a positive whole number/],
      ['POST', '/api/rest/host/h1/attach', {}, /"volume_id" is required/],
      ['POST', '/api/rest/nfs_export', { name: 'e' }, /"file_system_id" is required/],
      ['DELETE', '/api/rest/volume/a%20b', undefined, /invalid volume id/],
    ];
    for (const [method, path, body, message] of cases) {
      const { operation } = classify(method, path, body);
      expect(operation.kind, `${method} ${path} ${JSON.stringify(body)}`).to.equal('invalid');
      expect(operation.kind === 'invalid' && operation.message).to.match(message);
    }
  });

  it('denies what it does not know, and logouts of the shared session; answers the login locally', () => {
    for (const [method, path] of [['PUT', `/api/rest/volume/${VOLUME}`], ['POST', '/api/rest/volume_group'], ['GET', '/api/rest/logout'], ['POST', `/api/rest/volume/${VOLUME}/refresh`], ['POST', '/api/v1/volume']]) {
      expect(classify(method!, path!, {}).operation, `${method} ${path}`).to.deep.equal({ kind: 'unknown-mutation' });
    }
    expect(classify('GET', '/api/rest/login_session').operation).to.deep.equal({ kind: 'login' });
    expect(classify('HEAD', '/api/rest/volume').operation).to.deep.equal({ kind: 'read' });
  });
});
