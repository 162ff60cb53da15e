import { expect } from 'chai';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { checkRequest, type RequestSpec } from '../../bench/loadgen/request.js';
import { envoyServices } from './protos.js';
import { toRequestView } from './request.js';
import { checkRequestViewDecoder } from './requestView.js';
import type { CheckRequestMessage } from './wire.js';

const spec = (kind: RequestSpec['kind']): RequestSpec => ({ kind, token: 'header.payload.signature', systemId: '7045c4cc20dffc0f', endpoint: 'https://10.0.0.1', poolId: 'ae376b0300000000', sizeKiB: 8388608, volumePrefix: 'k8s' });

describe('CheckRequest view decoder', () => {
  const { Check } = envoyServices().authorization as ServiceDefinition;
  const decodeView = checkRequestViewDecoder();
  // Everything Envoy sends besides the request: peer certificates, TLS, metadata, context extensions.
  const everything = (kind: RequestSpec['kind']) => {
    const message = checkRequest(spec(kind), '00000001') as { attributes: Record<string, unknown> };
    message.attributes.source = { address: { socket_address: { address: '10.244.1.17', port_value: 48312 } }, principal: 'spiffe://cluster.local/ns/driver/sa/csi', certificate: '-----BEGIN CERTIFICATE-----…' };
    message.attributes.context_extensions = { tenant: 'ignored' };
    message.attributes.metadata_context = { filter_metadata: { 'envoy.lb': { fields: { canary: { stringValue: 'no' } } } } };
    message.attributes.tls_session = { sni: 'powerflex.example' };
    return Check!.requestSerialize(message);
  };

  for (const kind of ['read', 'create'] as const) {
    it(`yields what the official decoding yields for every field the pipeline reads (${kind})`, () => {
      const bytes = everything(kind);
      const official = Check!.requestDeserialize(bytes) as CheckRequestMessage;
      const view = decodeView(bytes);
      const http = official.attributes!.request!.http as Record<string, unknown>;
      // request.ts reads these; the rest (host, scheme, protocol, size, …) is skipped.
      const read = Object.fromEntries(['id', 'method', 'headers', 'path', 'body', 'raw_body'].filter((k) => k in http).map((k) => [k, http[k]]));
      expect(view).to.deep.equal({ attributes: { request: { http: read } } });
      expect(toRequestView(view)).to.deep.equal(toRequestView(official));
      if (kind === 'create') expect(Buffer.isBuffer(view.attributes?.request?.http?.raw_body)).to.equal(true);
    });
  }

  it('keeps absent fields absent (no raw_body is not an empty one)', () => {
    expect(decodeView(Check!.requestSerialize({ attributes: { request: { http: { method: 'GET' } } } }))).to.deep.equal({ attributes: { request: { http: { method: 'GET' } } } });
    expect(decodeView(Check!.requestSerialize({}))).to.deep.equal({});
  });
});
