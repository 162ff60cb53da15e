import { expect } from 'chai';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { ResourceSnapshot, Tenant } from '../resources/types.js';
import { ServiceAccountVerifier } from './serviceAccount.js';
import { TokenError } from './verify.js';

const ISSUER = 'https://cluster-a.example';
const AUDIENCE = 'storage-authz';
const SUBJECT = 'system:serviceaccount:vxflexos:vxflexos-controller';
const NOW = 1_900_000_000;

async function key(alg: 'RS256' | 'ES256', kid: string) {
  const pair = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey: pair.privateKey, jwk };
}
type Key = Awaited<ReturnType<typeof key>>;

function sign(signer: Key, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ iss: ISSUER, aud: [AUDIENCE], sub: SUBJECT, iat: NOW - 10, nbf: NOW - 10, exp: NOW + 600, ...claims })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid })
    .sign(signer.privateKey);
}

function snapshot(keys: JWK[], extra: Partial<Tenant> = {}): ResourceSnapshot {
  const tenant: Tenant = {
    name: 'tenant-a',
    roles: ['gold'],
    approveSdc: false,
    revoke: false,
    identities: [{ issuer: ISSUER, audiences: [AUDIENCE], keys: { kind: 'inline', jwks: { keys: keys as Record<string, unknown>[] } }, subjects: [SUBJECT] }],
    ...extra,
  };
  return { generation: 1, tenants: new Map([[tenant.name, tenant]]), roles: new Map(), storage: new Map() };
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TokenError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('ServiceAccountVerifier (tenant cluster service-account tokens)', () => {
  let rsa: Key;
  let ec: Key;
  let verifier: ServiceAccountVerifier;
  before(async () => {
    rsa = await key('RS256', 'rsa-1');
    ec = await key('ES256', 'ec-1');
  });
  beforeEach(() => {
    verifier = new ServiceAccountVerifier({ now: () => NOW });
  });

  it('a token of a trusted service account acts as its tenant with the live roles, RS256 or ES256', async () => {
    const resources = snapshot([rsa.jwk, ec.jwk]);
    for (const signer of [rsa, ec]) {
      const verified = await verifier.verify(await sign(signer), resources);
      expect(verified?.tenant.name).to.equal('tenant-a');
      expect(verified?.claims).to.include({ sub: SUBJECT, group: 'tenant-a', roles: 'gold', aud: AUDIENCE, iss: ISSUER, exp: NOW + 600 });
    }
  });

  it('refuses another audience, another service account, another issuer, an expired or future token, each naming why', async () => {
    const resources = snapshot([rsa.jwk]);
    expect(await refusal(verifier.verify(await sign(rsa, { aud: ['https://kubernetes.default.svc'] }), resources))).to.include({ code: 'wrong-audience' });
    expect(await refusal(verifier.verify(await sign(rsa, { sub: 'system:serviceaccount:default:default' }), resources))).to.deep.equal({
      code: 'wrong-subject',
      message: `service account "system:serviceaccount:default:default" is not trusted for issuer "${ISSUER}"`,
    });
    expect(await refusal(verifier.verify(await sign(rsa, { iss: 'https://cluster-b.example' }), resources))).to.include({ code: 'wrong-issuer' });
    expect(await refusal(verifier.verify(await sign(rsa, { exp: NOW - 60 }), resources))).to.include({ code: 'expired' });
    expect(await refusal(verifier.verify(await sign(rsa, { nbf: NOW + 600, iat: NOW }), resources))).to.include({ code: 'not-yet-valid' });
    expect(await refusal(verifier.verify(await sign(rsa, { iat: NOW + 300 }), resources))).to.include({ code: 'not-yet-valid' });
    expect(await refusal(verifier.verify(await sign(rsa, { exp: undefined }), resources))).to.include({ code: 'malformed' });
  });

  it('refuses a key the issuer does not publish and a forged signature under a published kid', async () => {
    const resources = snapshot([rsa.jwk]);
    const other = await key('RS256', 'rsa-2');
    expect(await refusal(verifier.verify(await sign(other), resources))).to.include({ code: 'unknown-key' });
    const forged = await key('RS256', 'rsa-1');
    expect(await refusal(verifier.verify(await sign(forged), resources))).to.include({ code: 'bad-signature' });
  });

  it('never accepts alg none; leaves HS256 (Dell) tokens to the Dell verifier', async () => {
    const resources = snapshot([rsa.jwk]);
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${b64({ alg: 'none' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: SUBJECT, exp: NOW + 600 })}.`;
    expect(await refusal(verifier.verify(unsigned, resources))).to.include({ code: 'unsupported-algorithm' });
    const unsignedDell = `${b64({ alg: 'none' })}.${b64({ iss: 'csm', aud: 'csm', sub: 'csm-tenant', exp: NOW + 600 })}.`;
    expect(await verifier.verify(unsignedDell, resources), 'the Dell verifier refuses its algorithm').to.equal(undefined);
    const hs256 = await new SignJWT({ iss: ISSUER, sub: SUBJECT }).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32));
    expect(await verifier.verify(hs256, resources)).to.equal(undefined);
  });

  it("leaves this service's own ES256 tokens (its own issuer) to the Dell verifier", async () => {
    const ours = await sign(ec, { iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant' });
    expect(await verifier.verify(ours, snapshot([rsa.jwk]))).to.equal(undefined);
  });

  it('a JWKS that cannot be fetched refuses the token (fail closed)', async () => {
    const resources = snapshot([]);
    const tenant = resources.tenants.get('tenant-a')!;
    const unreachable = { ...resources, tenants: new Map([[tenant.name, { ...tenant, identities: [{ ...tenant.identities![0]!, keys: { kind: 'remote' as const, jwksUri: 'https://127.0.0.1:1/openid/v1/jwks' } }] }]]) };
    expect(await refusal(verifier.verify(await sign(rsa), unreachable))).to.include({ code: 'keys-unavailable' });
  });
});
