// The classifier's refusals a tenant could try to slip past the table: paths that name one directory
// to the decision and another to the array, ambiguous bodies, quotas without a hard threshold.
import { expect } from 'chai';
import { classifyPowerScale } from './classify.js';

const classify = (method: string, path: string, body: unknown = '', headers: Record<string, string> = {}) =>
  classifyPowerScale({ method, path, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), headers });

describe('PowerScale classifier', () => {
  it('charges a quota its hard threshold in KiB, named apart from its directory', () => {
    expect(classify('POST', '/platform/1/quota/quotas/', { path: '/ifs/data/csi/k8s-1', type: 'directory', thresholds: { hard: 3 * 1024 * 1024 * 1024 } }).operation).to.deep.equal({
      kind: 'volume-quota', volumeId: 'directory:/ifs/data/csi/k8s-1', name: 'quota:/ifs/data/csi/k8s-1', sizeKiB: 3 * 1024 * 1024,
    });
  });

  it('makes the parent directory a created directory\'s pool and forwards the namespace path without a trailing /', () => {
    const classified = classify('PUT', '/namespace/ifs/data/csi/./k8s-1/', '', { 'x-isi-ifs-target-type': 'container' });
    expect(classified).to.deep.equal({ path: '/namespace/ifs/data/csi/k8s-1', operation: { kind: 'volume-create', poolId: '/ifs/data/csi', sizeKiB: 1, name: '/ifs/data/csi/k8s-1' } });
  });

  it('refuses body paths that are not one canonical directory under /ifs', () => {
    for (const path of ['/ifs/data/csi/../other/k8s-b', '/ifs/data//csi/k8s-1', '/ifs/data/csi/k8s-1/', 'ifs/data/csi/k8s-1', '/ifs/data/csi/k8s\u0000x']) {
      expect(classify('POST', '/platform/2/protocols/nfs/exports/', { paths: [path] }).operation.kind, path).to.equal('invalid');
      expect(classify('POST', '/platform/1/snapshot/snapshots/', { name: 's', path }).operation.kind, path).to.equal('invalid');
      expect(classify('POST', '/platform/1/quota/quotas/', { path, type: 'directory', thresholds: { hard: 1024 } }).operation.kind, path).to.equal('invalid');
    }
    expect(classify('POST', '/platform/2/protocols/nfs/exports/', { paths: ['/ifs/data/csi/a', '/ifs/data/csi/b'] }).operation.kind).to.equal('invalid');
  });

  it('takes a quota without a hard threshold as a change to the directory (requireHardQuota decides); refuses a malformed hard threshold and a body whose keys another parser reads differently', () => {
    const noHard = classify('POST', '/platform/1/quota/quotas/', { path: '/ifs/data/csi/k8s-1', type: 'directory', thresholds: { advisory: 1024 } }).operation;
    expect(noHard).to.deep.equal({ kind: 'volume-map', volumeId: 'directory:/ifs/data/csi/k8s-1' });
    for (const hard of [0, -1, 1.5, '1024']) {
      const bad = classify('POST', '/platform/1/quota/quotas/', { path: '/ifs/data/csi/k8s-1', type: 'directory', thresholds: { hard } }).operation;
      expect(bad, String(hard)).to.include({ kind: 'invalid', status: 400 });
      expect((bad as { message: string }).message).to.match(/thresholds.hard must be whole bytes/);
    }
    expect(classify('POST', '/platform/1/quota/quotas/', '{"path":"/ifs/data/csi/a","Path":"/ifs/data/csi/b","type":"directory","thresholds":{"hard":1024}}').operation.kind).to.equal('invalid');
  });

  it('denies namespace copies, moves and ACL changes, and case variants of routes are the same route', () => {
    expect(classify('PUT', '/namespace/ifs/data/csi/k8s-1?acl', '{}').operation.kind).to.equal('unknown-mutation');
    expect(classify('POST', '/namespace/ifs/data/csi/k8s-1', '').operation.kind).to.equal('unknown-mutation');
    expect(classify('DELETE', '/Platform/2/Protocols/NFS/Exports/7').operation).to.deep.equal({ kind: 'volume-unmap', volumeId: 'export:7' });
    expect(classify('DELETE', '/platform/2/protocols/nfs/exports/7/extra').operation.kind).to.equal('unknown-mutation');
    expect(classify('DELETE', '/session/1/session/abc').operation.kind).to.equal('login');
  });
});
