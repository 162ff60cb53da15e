import { expect } from 'chai';
import { envoyServices } from '../../src/check/protos.js';
import { toRequestView } from '../../src/check/request.js';
import type { CheckRequestMessage } from '../../src/check/wire.js';
import { checkRequest, type RequestSpec } from './request.js';

const spec: RequestSpec = {
  kind: 'create',
  token: 'header.payload.signature',
  systemId: '542a2d5f5122210f',
  endpoint: 'https://10.0.0.1',
  poolId: 'ae376b0300000000',
  sizeKiB: 8388608,
  volumePrefix: 'run1',
};

/** Through the real Envoy protos, as the server would receive it. */
function overTheWire(message: object): CheckRequestMessage {
  const check = envoyServices().authorization['Check']!;
  return check.requestDeserialize(check.requestSerialize(message)) as CheckRequestMessage;
}

describe('bench CheckRequests', () => {
  it('a create reaches the service as Dell driver traffic: POST, Bearer token, both Forwarded values, JSON body', () => {
    const view = toRequestView(overTheWire(checkRequest(spec, 7)));
    expect(view.method).to.equal('POST');
    expect(view.path).to.equal('/api/types/Volume/instances/');
    expect(view.headers['authorization']).to.equal('Bearer header.payload.signature');
    expect(view.headers['forwarded']).to.equal('for=csm-authorization;https://10.0.0.1;542a2d5f5122210f,by=csm-authorization;csi-vxflexos');
    expect(Object.keys(view.headers).length).to.be.at.least(10);
    expect(JSON.parse(view.body.toString())).to.deep.include({ name: 'run1-7', storagePoolId: 'ae376b0300000000', volumeSizeInKb: '8388608' });
    expect(view.headers['x-csi-pv-name']).to.equal('run1-7');
  });

  it('every create names a different volume, so each one reserves capacity', () => {
    const names = new Set([0, 1, 2].map((n) => JSON.parse(toRequestView(overTheWire(checkRequest(spec, n))).body.toString()).name));
    expect(names.size).to.equal(3);
  });

  it('a read is a bodiless GET of a volume', () => {
    const view = toRequestView(overTheWire(checkRequest({ ...spec, kind: 'read' }, 0)));
    expect(view.method).to.equal('GET');
    expect(view.path).to.match(/^\/api\/instances\/Volume::/);
    expect(view.body.length).to.equal(0);
  });
});
