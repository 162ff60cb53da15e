import { expect } from 'chai';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { envoyServices } from './protos.js';
import { toCheckResponse } from './response.js';
import { checkResponseEncoder } from './responseEncoder.js';

describe('CheckResponse encoder', () => {
  const { Check } = envoyServices().authorization as ServiceDefinition;
  const encode = checkResponseEncoder();
  const cases = {
    'an allow with header sets, removals and dynamic metadata': toCheckResponse({
      kind: 'allow',
      setHeaders: [{ name: 'authorization', value: 'Basic YWRtaW46dG9rZW4=' }, { name: ':path', value: '/api/types/Volume/instances/' }],
      removeHeaders: ['cookie', 'forwarded'],
      metadata: { tenant: 'tenant-a', operation: 'create-volume', reservation: 'r-1' },
    }),
    'an allow without metadata': toCheckResponse({ kind: 'allow', setHeaders: [], removeHeaders: [], metadata: {} }),
    'a 401 deny with a body': toCheckResponse({ kind: 'deny', status: 401, headers: [{ name: 'content-type', value: 'application/json' }], body: '{"error":"token expired","code":401}', reason: 'token-expired', metadata: {} }),
    'a 507 deny with metadata': toCheckResponse({ kind: 'deny', status: 507, headers: [{ name: 'retry-after', value: '1' }], body: '{"message":"quota"}', reason: 'quota-exceeded', metadata: { tenant: 'a' } }),
  };
  for (const [name, message] of Object.entries(cases)) {
    it(`writes proto-loader's bytes for ${name}`, () => {
      const bytes = encode(message);
      expect(bytes.equals(Check!.responseSerialize(message))).to.equal(true);
      expect(Check!.responseDeserialize(bytes)).to.deep.equal(Check!.responseDeserialize(Check!.responseSerialize(message)));
    });
  }

  it('refuses an append action the proto does not have, instead of sending a default', () => {
    const message = toCheckResponse({ kind: 'allow', setHeaders: [{ name: 'a', value: 'b' }], removeHeaders: [], metadata: {} });
    const bad = { ...message, ok_response: { ...message.ok_response!, headers: [{ header: { key: 'a', value: 'b' }, append_action: 'APPEND_SOMETIMES' as never }] } };
    expect(() => encode(bad)).to.throw(/HeaderAppendAction has no value APPEND_SOMETIMES/);
  });
});
