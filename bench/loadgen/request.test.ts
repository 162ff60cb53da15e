import { expect } from 'chai';
import { envoyServices } from '../../src/check/protos.js';
import { createHttpCheckServer } from '../../src/check/httpServer.js';
import { toRequestView } from '../../src/check/request.js';
import type { RequestView } from '../../src/pipeline/types.js';
import type { CheckRequestMessage } from '../../src/check/wire.js';
import { httpCaller } from './http-client.js';
import { extAuthzHttpRequest, requestEncoder, type RequestSpec } from './request.js';

const spec: RequestSpec = {
  kind: 'create',
  token: 'header.payload.signature',
  systemId: '542a2d5f5122210f',
  endpoint: 'https://10.0.0.1',
  poolId: 'ae376b0300000000',
  sizeKiB: 8388608,
  volumePrefix: 'run1',
};

const check = envoyServices().authorization['Check']!;

/** The n-th request the load generator sends, decoded by the real Envoy protos as the server would. */
function sent(requestSpec: RequestSpec, n: number): CheckRequestMessage {
  const encode = requestEncoder(requestSpec, check.requestSerialize as (message: object) => Buffer);
  return check.requestDeserialize(encode(n)) as CheckRequestMessage;
}

describe('bench CheckRequests', () => {
  it('a create reaches the service as Dell driver traffic: POST, Bearer token, both Forwarded values, JSON body', () => {
    const view = toRequestView(sent(spec, 7));
    expect(view.method).to.equal('POST');
    expect(view.path).to.equal('/api/types/Volume/instances/');
    expect(view.headers['authorization']).to.equal('Bearer header.payload.signature');
    expect(view.headers['forwarded']).to.equal('for=csm-authorization;https://10.0.0.1;542a2d5f5122210f,by=csm-authorization;csi-vxflexos');
    expect(Object.keys(view.headers).length).to.be.at.least(10);
    expect(JSON.parse(view.body.toString())).to.deep.include({ name: 'run1-00000007', storagePoolId: 'ae376b0300000000', volumeSizeInKb: '8388608' });
    expect(view.headers['x-csi-pv-name']).to.equal('run1-00000007');
  });

  const volumeName = (requestSpec: RequestSpec, n: number): string => JSON.parse(toRequestView(sent(requestSpec, n)).body.toString()).name;

  it('every create names a different volume, so each one reserves capacity', () => {
    const names = new Set([0, 1, 2, 12345].map((n) => volumeName(spec, n)));
    expect(names.size).to.equal(4);
    expect(volumeName(spec, 12345)).to.equal('run1-00012345');
  });

  it('with a volume cycle, names repeat after that many creates (a bounded ledger for the soak)', () => {
    const cycled = { ...spec, volumeCycle: 1000 };
    expect(volumeName(cycled, 1003)).to.equal(volumeName(cycled, 3));
    expect(volumeName(cycled, 999)).to.not.equal(volumeName(cycled, 3));
  });

  it('a read is a bodiless GET of a volume', () => {
    const view = toRequestView(sent({ ...spec, kind: 'read' }, 0));
    expect(view.method).to.equal('GET');
    expect(view.path).to.match(/^\/api\/instances\/Volume::/);
    expect(view.body.length).to.equal(0);
  });
});

describe('bench http_service requests', () => {
  it("reach serve's HTTP check server as the same request as the CheckRequest: method, path, tenant headers, body", async () => {
    const seen: RequestView[] = [];
    const server = createHttpCheckServer({
      decide: (view) => {
        seen.push(view);
        return Promise.resolve({ kind: 'allow', setHeaders: [], removeHeaders: [], metadata: {} });
      },
    });
    const port = await server.listen('127.0.0.1:0');
    try {
      const call = httpCaller(extAuthzHttpRequest(spec, `http://127.0.0.1:${port}`, 2, 5000));
      for (let n = 0; n < 8; n++) expect(await call()).to.deep.equal({ kind: 'allow' });
    } finally {
      await server.close(100);
    }
    const overGrpc = toRequestView(sent(spec, 7));
    const overHttp = seen[7]!;
    expect(overHttp.method).to.equal(overGrpc.method);
    expect(overHttp.path).to.equal(overGrpc.path);
    expect(JSON.parse(overHttp.body.toString())).to.deep.equal({ ...JSON.parse(overGrpc.body.toString()), name: 'run1-0000007' });
    for (const name of ['authorization', 'forwarded', 'content-type', 'user-agent', 'x-forwarded-proto']) expect(overHttp.headers[name], name).to.equal(overGrpc.headers[name]);
    expect(overHttp.headers['x-csi-pv-name']).to.equal('run1-0000007');
    expect(overHttp.headers['content-length']).to.equal(String(overHttp.body.length));
    expect(overHttp.headers['host']).to.equal(overGrpc.headers[':authority']);
    expect(overHttp.headers['x-envoy-expected-rq-timeout-ms']).to.equal('500');
    expect(new Set(seen.map((view) => view.headers['x-request-id'])).size).to.equal(8);
  });
});
