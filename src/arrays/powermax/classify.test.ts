import { expect } from 'chai';
import type { Operation } from '../types.js';
import { classifyPowerMax, CYLINDER_KIB } from './classify.js';

const SID = '000197900123';
const SG_PATH = `/univmax/restapi/100/sloprovisioning/symmetrix/${SID}/storagegroup/csi-CSM-Bronze-SRP_1-SG`;
const VOLUME_PATH = `/univmax/restapi/100/sloprovisioning/symmetrix/${SID}/volume/0012A`;

const classify = (method: string, path: string, body: unknown = ''): Operation =>
  classifyPowerMax({ method, path, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) }, SID).operation;

const attribute = (size: string | number, unit: string, count = 1, name = 'csi-CSM-pmax-1') => ({
  capacityUnit: unit, num_of_vols: count, volume_size: size, volumeIdentifier: { identifier_name: name, volumeIdentifierChoice: 'identifier_name' },
});
const create = (...attributes: unknown[]) => ({
  editStorageGroupActionParam: { expandStorageGroupParam: { addVolumeParam: { create_new_volumes: true, emulation: 'FBA', volumeAttributes: attributes } } },
  executionOption: 'SYNCHRONOUS',
});

describe('PowerMax classification', () => {
  it('charges creates in whole cylinders of 1,920 KiB, in every unit', () => {
    const sizes: [string | number, string, number][] = [
      ['547', 'CYL', 547 * CYLINDER_KIB], // Dell's fixture: 1,050,240 KiB
      ['1', 'GB', 547 * CYLINDER_KIB], // 546.13 cylinders, allocated 547
      ['1', 'MB', CYLINDER_KIB], // less than a cylinder is a cylinder
      ['1', 'TB', Math.ceil((1024 ** 3) / CYLINDER_KIB) * CYLINDER_KIB],
      [1094, 'cyl', 1094 * CYLINDER_KIB], // a JSON number; the unit's case does not matter
    ];
    for (const [size, unit, kib] of sizes) {
      expect(classify('PUT', SG_PATH, create(attribute(size, unit))), `${size} ${unit}`).to.deep.equal({
        kind: 'volume-create', poolId: 'csi-CSM-Bronze-SRP_1-SG', sizeKiB: kib, name: 'csi-CSM-pmax-1',
      });
    }
  });

  it('charges every volumeAttributes element and each num_of_vols (Dell read element 0 as cylinders only)', () => {
    const operation = classify('PUT', SG_PATH, create(attribute('547', 'CYL', 2), attribute('1', 'GB', 3)));
    expect(operation).to.include({ kind: 'volume-create', sizeKiB: 5 * 547 * CYLINDER_KIB });
  });

  it('refuses creates it cannot charge or own, with a message naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [create(), /"volumeAttributes" must be a non-empty list/],
      [create(attribute('547', 'KB')), /"capacityUnit" must be one of CYL, MB, GB, TB, got "KB"/],
      [create(attribute('-1', 'GB')), /"volume_size" must be a positive whole number/],
      [create(attribute('1.5', 'GB')), /"volume_size" must be a positive whole number/],
      [create(attribute('1', 'GB', 0)), /"num_of_vols" must be a positive whole number/],
      [create(attribute('1', 'GB', 1, 'a'), attribute('1', 'GB', 1, 'b')), /one volume identifier per request/],
      [create(attribute('1', 'GB', 1, '_DELsneaky')), /_DEL mark deleted volumes/],
      [create({ capacityUnit: 'GB', volume_size: '1' }), /identifier_name/],
      ['{"editStorageGroupActionParam":{"expandStorageGroupParam":{"addVolumeParam":{"volumeAttributes":[{"capacityUnit":"GB","volume_size":"1","Volume_Size":"900"}]}}}}', /differ only by case/],
      ['{"editStorageGroupActionParam":', /not valid JSON/],
    ];
    for (const [body, message] of cases) {
      const operation = classify('PUT', SG_PATH, body);
      expect(operation.kind, JSON.stringify(body)).to.equal('invalid');
      expect((operation as { message: string }).message).to.match(message);
    }
  });

  it('classifies every Unisphere version the driver may use alike, and refuses a path naming another array', () => {
    for (const version of ['90', '91', '92', '100']) {
      expect(classify('PUT', SG_PATH.replace('/100/', `/${version}/`), create(attribute('547', 'CYL'))).kind, version).to.equal('volume-create');
    }
    const other = classify('GET', `/univmax/restapi/100/sloprovisioning/symmetrix/000197900999/volume`);
    expect(other).to.deep.include({ kind: 'invalid', status: 403 });
    // A case variant of the route is still the create it would be.
    expect(classify('PUT', SG_PATH.replace('/storagegroup/', '/StorageGroup/'), create(attribute('547', 'CYL'))).kind).to.equal('volume-create');
  });

  it('reads the soft-delete rename and the expansion from a volume edit, nothing else', () => {
    const rename = (name: string) => ({ editVolumeActionParam: { modifyVolumeIdentifierParam: { volumeIdentifier: { identifier_name: name, volumeIdentifierChoice: 'identifier_name' } } } });
    expect(classify('PUT', VOLUME_PATH, rename('_DELcsi-CSM-pmax-1'))).to.deep.equal({ kind: 'volume-delete', volumeId: '0012A' });
    expect(classify('PUT', VOLUME_PATH, rename('someone-else'))).to.deep.equal({ kind: 'unknown-mutation' });
    const expand = { editVolumeActionParam: { expandVolumeParam: { volumeAttribute: { volume_size: '2', capacityUnit: 'GB' } }, enable_mobility_id_param: null } };
    expect(classify('PUT', VOLUME_PATH, expand)).to.deep.equal({ kind: 'volume-expand', volumeId: '0012A', newSizeKiB: 1093 * CYLINDER_KIB });
    // Two edits in one body cannot both be checked: refused.
    expect(classify('PUT', VOLUME_PATH, { editVolumeActionParam: { ...expand.editVolumeActionParam, ...rename('_DELx').editVolumeActionParam } })).to.deep.equal({ kind: 'unknown-mutation' });
    expect(classify('PUT', VOLUME_PATH.replace('0012A', '../0012A'), expand).kind).to.equal('unknown-mutation');
    expect(classify('DELETE', VOLUME_PATH.replace('0012A', 'not-a-device'))).to.deep.include({ kind: 'invalid' });
  });

  it('names every SnapVX source and target, one device per request', () => {
    const snap = `/univmax/restapi/private/100/replication/symmetrix/${SID}/snapshot/snap-1`;
    expect(classify('POST', snap, { deviceNameListSource: [{ name: '0012A' }] })).to.deep.equal({ kind: 'snapshot-create', snapshots: [{ volumeId: '0012A', snapshotName: 'snap-1' }] });
    expect(classify('PUT', snap, { action: 'Link', deviceNameListSource: [{ name: '0012A' }], deviceNameListTarget: [{ name: '0012B' }] })).to.deep.equal({ kind: 'volume-restore', volumeId: '0012B', sourceVolumeId: '0012A' });
    expect(classify('DELETE', snap, { deviceNameListSource: [{ name: '0012A' }], generation: 0 })).to.deep.equal({ kind: 'volume-delete', volumeId: 'snapshot:0012A:snap-1' });
    expect(classify('POST', snap, { deviceNameListSource: [{ name: '0012A' }, { name: '0012B' }] })).to.deep.include({ kind: 'invalid' });
    expect(classify('PUT', snap, { action: 'Link', deviceNameListSource: [{ name: '0012A' }] })).to.deep.include({ kind: 'invalid' });
  });
});
