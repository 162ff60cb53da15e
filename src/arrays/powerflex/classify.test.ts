import { expect } from 'chai';
import { classifyPowerFlex, VOLUME_GRANULARITY_KIB } from './classify.js';
import type { Classified } from '../types.js';

const GiB = 1024 * 1024;

function classify(method: string, path: string, body: unknown = undefined): Classified {
  const raw = body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return classifyPowerFlex({ method, path, body: raw });
}

const createBody = {
  name: 'k8s-0fc0695995',
  protectionDomainId: '6b2ffe6c00000000',
  storagePoolId: 'ae376b0300000000',
  volumeSizeInKb: '8388608',
  volumeType: 'ThinProvisioned',
};

function invalidMessage(classified: Classified): string {
  if (classified.operation.kind !== 'invalid') throw new Error(`expected invalid, got ${classified.operation.kind}`);
  expect(classified.operation.status).to.equal(400);
  return classified.operation.message;
}

describe('classifyPowerFlex', () => {
  describe('login', () => {
    it('answers /api/login locally with or without the trailing slash and whatever the method', () => {
      expect(classify('GET', '/api/login').operation).to.deep.equal({ kind: 'login' });
      expect(classify('POST', '/api/login/').operation).to.deep.equal({ kind: 'login' });
      expect(classify('GET', '/API/Login').operation).to.deep.equal({ kind: 'login' });
    });
  });

  describe('reads', () => {
    it('passes GET and HEAD through, with the normalised path forwarded', () => {
      for (const path of ['/api/version', '/api/types/System/instances', '/api/types/StoragePool/instances',
        '/api/instances/Volume::ae376b0300000000', '/api/instances/System::542a2d5f5122210f/relationships/Sdc',
        '/api/types/Volume/instances']) {
        expect(classify('GET', path)).to.deep.equal({ path: `${path}/`, operation: { kind: 'read' } });
      }
      expect(classify('HEAD', '/api/version').operation).to.deep.equal({ kind: 'read' });
    });

    it('treats the query actions the driver POSTs as reads, on types and on instances', () => {
      expect(classify('POST', '/api/types/Volume/instances/action/queryIdByKey/', { name: 'k8s-1' }).operation).to.deep.equal({ kind: 'read' });
      expect(classify('POST', '/api/types/StoragePool/instances/action/querySelectedStatistics', {}).operation).to.deep.equal({ kind: 'read' });
      expect(classify('POST', '/api/instances/System/action/querySystemLimits', {}).operation).to.deep.equal({ kind: 'read' });
      expect(classify('POST', '/api/instances/Sdc::34e49c2000000004/action/queryVolumeSdcBwc', {}).operation).to.deep.equal({ kind: 'read' });
      expect(classify('POST', '/api/instances/System/queryMdmCluster', {}).operation).to.deep.equal({ kind: 'read' });
    });
  });

  describe('volume create', () => {
    it('reads pool, name and size from the driver body', () => {
      expect(classify('POST', '/api/types/Volume/instances/', createBody)).to.deep.equal({
        path: '/api/types/Volume/instances/',
        operation: { kind: 'volume-create', poolId: 'ae376b0300000000', sizeKiB: 8 * GiB, name: 'k8s-0fc0695995' },
      });
    });

    it('accepts a JSON number and charges what the array allocates: whole 8 GiB units', () => {
      const op = classify('POST', '/api/types/Volume/instances', { ...createBody, volumeSizeInKb: 100 }).operation;
      expect(op).to.include({ kind: 'volume-create', sizeKiB: VOLUME_GRANULARITY_KIB });
      const op2 = classify('POST', '/api/types/Volume/instances', { ...createBody, volumeSizeInKb: String(8 * GiB + 1) }).operation;
      expect(op2).to.include({ sizeKiB: 16 * GiB });
    });

    it('rejects malformed bodies with a clear 400', () => {
      expect(invalidMessage(classify('POST', '/api/types/Volume/instances/', '{"name":'))).to.equal('request body is not valid JSON');
      expect(invalidMessage(classify('POST', '/api/types/Volume/instances/', '[1]'))).to.equal('request body must be a JSON object');
      expect(invalidMessage(classify('POST', '/api/types/Volume/instances/', ''))).to.equal('request body is not valid JSON');
    });

    it('rejects a missing, non-numeric, negative, fractional or zero volumeSizeInKb', () => {
      for (const volumeSizeInKb of [undefined, 'abc', '-8', -8, '8.5', 8.5, '0', 0, '1e6', ' 8', null, {}]) {
        const message = invalidMessage(classify('POST', '/api/types/Volume/instances/', { ...createBody, volumeSizeInKb }));
        expect(message).to.match(/"volumeSizeInKb" must be a positive whole number of KiB/);
      }
    });

    it('rejects sizes beyond exact integer arithmetic instead of overflowing the quota', () => {
      const message = invalidMessage(classify('POST', '/api/types/Volume/instances/', { ...createBody, volumeSizeInKb: '9007199254740990' }));
      expect(message).to.match(/too large/);
    });

    it('rejects a missing pool or name', () => {
      const { storagePoolId: _pool, ...noPool } = createBody;
      expect(invalidMessage(classify('POST', '/api/types/Volume/instances/', noPool))).to.match(/"storagePoolId" is required/);
      const { name: _name, ...noName } = createBody;
      expect(invalidMessage(classify('POST', '/api/types/Volume/instances/', noName))).to.match(/"name" is required/);
      expect(invalidMessage(classify('POST', '/api/types/Volume/instances/', { ...createBody, name: '' }))).to.match(/"name" is required/);
    });
  });

  describe('volume delete, map and unmap', () => {
    it('takes the volume id from the path', () => {
      const base = '/api/instances/Volume::ae376b0300000000/action';
      expect(classify('POST', `${base}/removeVolume`, { removeMode: 'ONLY_ME' })).to.deep.equal({
        path: `${base}/removeVolume/`, operation: { kind: 'volume-delete', volumeId: 'ae376b0300000000' },
      });
      expect(classify('POST', `${base}/addMappedSdc/`, { sdcId: '34e49c2000000004' }).operation).to.deep.equal({ kind: 'volume-map', volumeId: 'ae376b0300000000' });
      expect(classify('POST', `${base}/removeMappedSdc/`, { sdcId: '34e49c2000000004' }).operation).to.deep.equal({ kind: 'volume-unmap', volumeId: 'ae376b0300000000' });
      expect(classify('POST', `${base}/removeMappedSdc/`, { allSdcs: 'TRUE' }).operation).to.deep.equal({ kind: 'volume-unmap', volumeId: 'ae376b0300000000' });
      expect(classify('POST', `${base}/setMappedSdcLimits/`, { sdcId: '34e49c2000000004' }).operation).to.deep.equal({ kind: 'volume-map', volumeId: 'ae376b0300000000' });
      expect(classify('POST', `${base}/setVolumeMappingAccessMode`, { sdcId: '34e49c2000000004' }).operation).to.deep.equal({ kind: 'volume-map', volumeId: 'ae376b0300000000' });
    });

    it('rejects a missing or malformed volume id', () => {
      expect(invalidMessage(classify('POST', '/api/instances/Volume::/action/removeVolume'))).to.match(/invalid volume id/);
      expect(invalidMessage(classify('POST', '/api/instances/Volume::1*2/action/removeVolume'))).to.match(/invalid volume id/);
      expect(invalidMessage(classify('POST', '/api/instances/Volume::1;x=2/action/removeVolume'))).to.match(/path parameters \(';'\) are not accepted/);
    });
  });

  describe('volume expand', () => {
    const path = '/api/instances/Volume::ae376b0300000000/action/setVolumeSize';

    it('reads the new size in GiB (as goscaleio sends it) and charges what the array allocates', () => {
      expect(classify('POST', path, { sizeInGB: '16' }).operation).to.deep.equal({ kind: 'volume-expand', volumeId: 'ae376b0300000000', newSizeKiB: 16 * GiB });
      expect(classify('POST', path, { sizeInGB: 9 }).operation).to.deep.equal({ kind: 'volume-expand', volumeId: 'ae376b0300000000', newSizeKiB: 16 * GiB });
    });

    it('rejects a missing or malformed size and a bad volume id', () => {
      for (const sizeInGB of [undefined, '', '1.5', '-8', 0, 'lots']) {
        expect(invalidMessage(classify('POST', path, { sizeInGB }))).to.match(/"sizeInGB" must be a positive whole number of GiB/);
      }
      expect(invalidMessage(classify('POST', path, { sizeInGB: '999999999999' }))).to.match(/too large/);
      expect(invalidMessage(classify('POST', '/api/instances/Volume::x~y/action/setVolumeSize', { sizeInGB: '16' }))).to.match(/invalid volume id/);
    });
  });

  describe('volume restore (overwriteVolumeContent)', () => {
    it('names the volume overwritten and the source', () => {
      expect(classify('POST', '/api/instances/Volume::ae376b0300000000/action/overwriteVolumeContent', { srcVolumeId: 'ae376b0300000001' }).operation)
        .to.deep.equal({ kind: 'volume-restore', volumeId: 'ae376b0300000000', sourceVolumeId: 'ae376b0300000001' });
      expect(invalidMessage(classify('POST', '/api/instances/Volume::ae376b0300000000/action/overwriteVolumeContent', {}))).to.match(/"srcVolumeId" is required/);
    });
  });

  describe('PowerFlex 4.x', () => {
    const fs = '64e4c4c7-0000-0000-0000-000000000001';

    it('answers the 4.x login and refresh locally, and never passes a logout', () => {
      expect(classify('POST', '/rest/auth/login', { username: 'u', password: 'p' }).operation).to.deep.equal({ kind: 'login' });
      expect(classify('POST', '/REST/Auth/Refresh/').operation).to.deep.equal({ kind: 'login' });
      expect(classify('GET', '/rest/auth/logout').operation).to.deep.equal({ kind: 'unknown-mutation' });
    });

    it('charges a file-system create to its storage pool, in KiB rounded up from bytes', () => {
      const body = { name: 'k8s-nfs', size_total: 8 * GiB * 1024 + 1, storage_pool_id: '3df6b86600000000', nas_server_id: 'nas-1' };
      expect(classify('POST', '/rest/v1/file-systems', body).operation).to.deep.equal({ kind: 'volume-create', poolId: '3df6b86600000000', sizeKiB: 8 * GiB + 1, name: 'k8s-nfs' });
      expect(invalidMessage(classify('POST', '/rest/v1/file-systems', { ...body, size_total: '8GB' }))).to.match(/"size_total" must be a positive whole number of bytes/);
      expect(invalidMessage(classify('POST', '/rest/v1/file-systems', { ...body, storage_pool_id: undefined }))).to.match(/"storage_pool_id" is required/);
      expect(invalidMessage(classify('POST', '/rest/v1/file-systems', { ...body, name: '' }))).to.match(/"name" is required/);
    });

    it('names file systems and exports in their own id space', () => {
      expect(classify('DELETE', `/rest/v1/file-systems/${fs}`).operation).to.deep.equal({ kind: 'volume-delete', volumeId: `file-system:${fs}` });
      expect(classify('PATCH', `/rest/v1/file-systems/${fs}`, { size_total: 16 * GiB * 1024 }).operation).to.deep.equal({ kind: 'volume-expand', volumeId: `file-system:${fs}`, newSizeKiB: 16 * GiB });
      expect(classify('PATCH', `/rest/v1/file-systems/${fs}`, { description: 'x' }).operation).to.deep.equal({ kind: 'volume-map', volumeId: `file-system:${fs}` });
      expect(classify('POST', '/rest/v1/nfs-exports', { name: 'e', file_system_id: fs, path: '/e' }).operation).to.deep.equal({ kind: 'volume-map', volumeId: `file-system:${fs}` });
      expect(classify('DELETE', '/rest/v1/nfs-exports/e-1').operation).to.deep.equal({ kind: 'volume-unmap', volumeId: 'nfs-export:e-1' });
      expect(classify('POST', `/rest/v1/file-systems/${fs}/snapshot`, { name: 'sn' }).operation).to.deep.equal({ kind: 'snapshot-create', snapshots: [{ volumeId: `file-system:${fs}`, snapshotName: 'sn' }] });
    });

    it('restores a file system from its snapshot as a restore of both, and refuses a restore that keeps an uncharged copy', () => {
      const snap = '64e4c4c7-0000-0000-0000-000000000002';
      expect(classify('POST', `/rest/v1/file-systems/${fs}/restore`, { snapshot_id: snap }).operation)
        .to.deep.equal({ kind: 'volume-restore', volumeId: `file-system:${fs}`, sourceVolumeId: `file-system:${snap}` });
      expect(classify('POST', `/rest/v1/file-systems/${fs}/restore`, { snapshot_id: snap, copy_name: 'backup' }).operation).to.deep.equal({ kind: 'unknown-mutation' });
      expect(invalidMessage(classify('POST', `/rest/v1/file-systems/${fs}/restore`, {}))).to.match(/"snapshot_id" is required/);
    });

    it('rejects ids that are not PowerFlex file ids and exports without a file system', () => {
      expect(invalidMessage(classify('DELETE', '/rest/v1/file-systems/a~b'))).to.match(/invalid file-systems id/);
      expect(invalidMessage(classify('POST', '/rest/v1/nfs-exports', { name: 'e', path: '/e' }))).to.match(/"file_system_id" is required/);
    });
  });

  describe('system actions', () => {
    it('classifies approveSdc', () => {
      expect(classify('POST', '/api/instances/System::542a2d5f5122210f/action/approveSdc', { sdcGuid: 'x' }).operation).to.deep.equal({ kind: 'sdc-approve' });
    });

    it('classifies snapshotVolumes with every source volume', () => {
      const body = { snapshotDefs: [{ volumeId: 'aa00000000000001', snapshotName: 'sn-1' }, { volumeId: 'aa00000000000002', snapshotName: 'sn-2' }] };
      expect(classify('POST', '/api/instances/System::542a2d5f5122210f/action/snapshotVolumes/', body).operation).to.deep.equal({
        kind: 'snapshot-create',
        snapshots: [{ volumeId: 'aa00000000000001', snapshotName: 'sn-1' }, { volumeId: 'aa00000000000002', snapshotName: 'sn-2' }],
      });
    });

    it('rejects snapshot bodies without usable definitions', () => {
      const path = '/api/instances/System::542a2d5f5122210f/action/snapshotVolumes';
      expect(invalidMessage(classify('POST', path, {}))).to.match(/non-empty list/);
      expect(invalidMessage(classify('POST', path, { snapshotDefs: [] }))).to.match(/non-empty list/);
      expect(invalidMessage(classify('POST', path, { snapshotDefs: [{ snapshotName: 's' }] }))).to.match(/"volumeId"/);
      expect(invalidMessage(classify('POST', path, { snapshotDefs: [{ volumeId: 'aa01' }] }))).to.match(/"snapshotName"/);
      expect(invalidMessage(classify('POST', path, { snapshotDefs: ['x'] }))).to.match(/"volumeId"/);
    });
  });

  describe('fail closed', () => {
    it('denies every other mutating request', () => {
      for (const [method, path] of [
        ['POST', '/api/instances/Volume::ae376b0300000000/action/setVolumeName'],
        ['POST', '/rest/auth/logout'],
        ['POST', '/api/instances/Volume::ae376b0300000000/action/migrateVTree'],
        ['POST', '/rest/v1/nas-servers'],
        ['DELETE', '/rest/v1/nas-servers/64e4c4c7-0000-0000-0000-000000000001'],
        ['POST', '/api/instances/Volume::ae376b0300000000/action/constructor'],
        ['POST', '/api/types/Volume/instances/action/removeAll'],
        ['POST', '/api/types/StoragePool/instances'],
        ['DELETE', '/api/instances/Volume::ae376b0300000000'],
        ['PUT', '/api/types/Volume/instances'],
        ['PATCH', '/api/version'],
        ['OPTIONS', '/api/version'],
        ['POST', '/somewhere/else'],
        ['GET', '/api/logout'],
        ['POST', '/api/gatewayLogout/'],
      ] as const) {
        expect(classify(method, path).operation, `${method} ${path}`).to.deep.equal({ kind: 'unknown-mutation' });
      }
    });
  });

  describe('path tricks', () => {
    it('classifies a dot-segment trick as what the array executes', () => {
      const trick = classify('POST', '/api/types/Volume/../../instances/Volume::ae376b0300000000/action/removeVolume');
      expect(trick).to.deep.equal({ path: '/api/instances/Volume::ae376b0300000000/action/removeVolume/', operation: { kind: 'volume-delete', volumeId: 'ae376b0300000000' } });
      // The example resolves to a path the array does not serve: still never a read.
      expect(classify('POST', '/api/types/Volume/instances/../../instances/Volume::x/action/removeVolume').operation).to.deep.equal({ kind: 'unknown-mutation' });
    });

    it('classifies double slashes and encoded characters as the array will read them', () => {
      expect(classify('POST', '//api//instances/Volume%3A%3Aae376b0300000000/action/%72emoveVolume').operation)
        .to.deep.equal({ kind: 'volume-delete', volumeId: 'ae376b0300000000' });
    });

    it('classifies a case variant of a mutation as that mutation and forwards its own spelling', () => {
      expect(classify('POST', '/API/Instances/VOLUME::ae376b0300000000/Action/REMOVEVOLUME')).to.deep.equal({
        path: '/API/Instances/VOLUME::ae376b0300000000/Action/REMOVEVOLUME/', operation: { kind: 'volume-delete', volumeId: 'ae376b0300000000' },
      });
      expect(classify('post', '/api/types/volume/instances', createBody).operation).to.include({ kind: 'volume-create' });
    });

    it('denies encoded slashes instead of guessing what they mean', () => {
      const classified = classify('POST', '/api/instances/Volume::1%2Faction%2FremoveVolume');
      expect(invalidMessage(classified)).to.match(/encoded '\/'/);
      expect(invalidMessage(classify('GET', '/api/types/Volume/instances%2f..%2f'))).to.match(/encoded '\/'/);
    });
  });
});
