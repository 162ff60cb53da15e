import { expect } from 'chai';
import { readVolumeHandle } from './volumeHandles.js';

describe('CSI volume handles of the Dell drivers', () => {
  it('reads csi-powerflex "<systemID>-<volumeID>"', () => {
    expect(readVolumeHandle('powerflex', '542a2d5f5122210f-e5c4b71800000003')).to.deep.equal({ systemID: '542a2d5f5122210f', volumeId: 'e5c4b71800000003' });
    expect(readVolumeHandle('powerflex', 'e5c4b71800000003')).to.equal(undefined);
  });

  it('reads csi-powermax "csi-<prefix>-<name>-<symID>-<devID>", Metro pairs by their local half, and checks the device still has that identifier', () => {
    const handle = readVolumeHandle('powermax', 'csi-ABC-pmax-260602731a-ns1-nsx-000120000548-011AB')!;
    expect(handle).to.include({ systemID: '000120000548', volumeId: '011AB' });
    expect(handle.names!('csi-ABC-pmax-260602731a-ns1-nsx')).to.equal(true);
    expect(handle.names!('csi-ABC-pmax-other-ns1-nsx'), 'a reused device id').to.equal(false);
    expect(readVolumeHandle('powermax', 'csi-ABC-pmax-9a1b-000120000548:000120000549-011AB:00C12')).to.include({ systemID: '000120000548', volumeId: '011AB' });
    // A file system's handle (a UUID for the device) and handles without the prefix are not read.
    expect(readVolumeHandle('powermax', 'csi-ABC-pmax-448c258b72-ns1-nsx-000120000549-649112ce-742b-b93a-abcd-026048200208')).to.equal(undefined);
    expect(readVolumeHandle('powermax', 'vol-000120000548-011AB')).to.equal(undefined);
  });

  it('reads csi-powerstore "<uuid>/<globalID>/<scsi|nfs>" (a Metro pair by its local half) as a volume or a file system; not the legacy forms', () => {
    expect(readVolumeHandle('powerstore', '9f840c56-96e6-4de9-b5a3-27e7c20eaa77/PSabcdef0123/scsi')).to.deep.equal({ systemID: 'PSabcdef0123', volumeId: 'volume/9f840c56-96e6-4de9-b5a3-27e7c20eaa77' });
    expect(readVolumeHandle('powerstore', '9f840c56-96e6-4de9-b5a3-27e7c20eaa77/PSabcdef0123/nfs')).to.deep.equal({ systemID: 'PSabcdef0123', volumeId: 'file_system/9f840c56-96e6-4de9-b5a3-27e7c20eaa77' });
    expect(readVolumeHandle('powerstore', '9f840c56-96e6-4de9-b5a3-27e7c20eaa77/PSabcdef0123/scsi:1a2b3c4d-96e6-4de9-b5a3-27e7c20eaa77/PS0123abcdef')).to.deep.equal({ systemID: 'PSabcdef0123', volumeId: 'volume/9f840c56-96e6-4de9-b5a3-27e7c20eaa77' });
    expect(readVolumeHandle('powerstore', '9f840c56-96e6-4de9-b5a3-27e7c20eaa77'), 'no global ID: the driver’s default array').to.equal(undefined);
    expect(readVolumeHandle('powerstore', '9f840c56-96e6-4de9-b5a3-27e7c20eaa77/192.168.0.1/scsi'), 'an IP for the array').to.equal(undefined);
  });

  it('reads csi-powerscale "<name>=_=_=<export id>=_=_=<zone>=_=_=<cluster>" as the export, whose directory must be <name>', () => {
    const handle = readVolumeHandle('powerscale', 'k8s-e89c9d089e=_=_=19=_=_=csi0zone=_=_=cluster1')!;
    expect(handle).to.include({ systemID: 'cluster1', volumeId: 'export:19' });
    expect(handle.names!('/ifs/data/csi/k8s-e89c9d089e')).to.equal(true);
    expect(handle.names!('/ifs/data/csi/k8s-other')).to.equal(false);
    expect(readVolumeHandle('powerscale', 'k8s-e89c9d089e=_=_=19=_=_=csi0zone'), 'no cluster name: the driver’s default cluster').to.equal(undefined);
    expect(readVolumeHandle('powerscale', 'k8s-e89c9d089e=_=_=x=_=_=System=_=_=cluster1')).to.equal(undefined);
  });
});
