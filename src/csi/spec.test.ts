import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { CSI_SPEC_VERSION, csiServices } from './spec.js';

describe('CSI spec (from the Go module)', () => {
  it('is the version scripts/fetch-csi-spec.sh fetches', async () => {
    const script = await readFile(new URL('../../scripts/fetch-csi-spec.sh', import.meta.url), 'utf8');
    expect(/^CSI_SPEC_VERSION=(\S+)/m.exec(script)?.[1]).to.equal(CSI_SPEC_VERSION);
  });

  it('gives every CSI service, NodePublishVolume unary and the snapshot metadata RPCs server-streaming', () => {
    const services = csiServices();
    expect(Object.keys(services)).to.have.members(['Identity', 'Controller', 'GroupController', 'SnapshotMetadata', 'Node']);
    expect(services.Node!.NodePublishVolume).to.include({ path: '/csi.v1.Node/NodePublishVolume', requestStream: false, responseStream: false });
    expect(services.SnapshotMetadata!.GetMetadataAllocated).to.include({ requestStream: false, responseStream: true });
  });
});
