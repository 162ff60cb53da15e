// Our own tokens signed with ES256/EdDSA keys from the keys directory (PEM files next to HMAC
// secrets): minted with the default key's algorithm, verified by kid, and verifiable by a third
// party from the public JWKS alone.
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { rejectionOf } from '../../test/support/rejection.js';
import { loadSigningKeys, publicJwks } from './keys.js';
import { mintTokenPair } from './mint.js';
import type { SigningKeySet } from './types.js';
import { TokenError, TokenVerifier } from './verify.js';

const HMAC_SECRET = 'q3R9v8XkPz2LmN7wYt5Hs1JdFg6Bc4Ae0KuViOp';
/** A PKCS#8 PEM private key, as `openssl genpkey` writes it. */
function pem(type: 'ed25519' | 'ec' | 'rsa'): string {
  const { privateKey } =
    type === 'ed25519' ? generateKeyPairSync('ed25519') : type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

describe('tokens: asymmetric signing keys (ES256, EdDSA) and the JWKS', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'asym-keys-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const load = (defaultKid: string) => loadSigningKeys(dir, defaultKid);
  const mint = (keys: SigningKeySet) => mintTokenPair({ keys, subject: 'csm-tenant', group: 'tenant-a', roles: ['gold'], accessTtlSeconds: 60, refreshTtlSeconds: 600 });

  it('loads PEM keys next to HMAC secrets; the JWKS lists only their public halves', async () => {
    await writeFile(path.join(dir, 'ed-1'), pem('ed25519'));
    await writeFile(path.join(dir, 'ec-1'), pem('ec'));
    await writeFile(path.join(dir, 'hs-1'), HMAC_SECRET);
    const keys = await load('ed-1');
    const jwks = publicJwks(keys);
    expect(jwks.keys.map(({ kid, alg, kty, use }) => ({ kid, alg, kty, use }))).to.deep.equal([
      { kid: 'ec-1', alg: 'ES256', kty: 'EC', use: 'sig' },
      { kid: 'ed-1', alg: 'EdDSA', kty: 'OKP', use: 'sig' },
    ]);
    const published = JSON.stringify(jwks);
    expect(published).to.not.contain('"d"');
    expect(published).to.not.contain(Buffer.from(HMAC_SECRET).toString('base64url'));
  });

  it('signs with the default key (EdDSA or ES256, kid in the header); a third party verifies with the JWKS alone', async () => {
    await writeFile(path.join(dir, 'ed-1'), pem('ed25519'));
    await writeFile(path.join(dir, 'ec-1'), pem('ec'));
    for (const [kid, alg] of [['ed-1', 'EdDSA'], ['ec-1', 'ES256']] as const) {
      const keys = await load(kid);
      const pair = await mint(keys);
      expect(decodeProtectedHeader(pair.access)).to.deep.equal({ alg, typ: 'JWT', kid });
      expect(await new TokenVerifier({ keys: () => keys }).verify(pair.access)).to.include({ group: 'tenant-a', roles: 'gold', token_use: 'access' });
      const { payload } = await jwtVerify(pair.access, createLocalJWKSet(publicJwks(keys)), { issuer: 'com.dell.csm', audience: 'csm' });
      expect(payload.sub).to.equal('csm-tenant');
    }
  });

  it('rotation: tokens of a key stay valid while its file is there, and are refused "unknown-key" once it is removed', async () => {
    await writeFile(path.join(dir, 'ec-1'), pem('ec'));
    await writeFile(path.join(dir, 'hs-1'), HMAC_SECRET);
    const before = await load('ec-1');
    const old = await mint(before);
    const dell = await mint(await load('hs-1'));
    // The new key is published first (verifiers cache the JWKS), then made the default.
    await writeFile(path.join(dir, 'ec-2'), pem('ec'));
    const rotated = await load('ec-2');
    const verifier = new TokenVerifier({ keys: () => rotated });
    expect(decodeProtectedHeader((await mint(rotated)).access).kid).to.equal('ec-2');
    expect(await verifier.verify(old.access)).to.include({ group: 'tenant-a' });
    expect(await verifier.verify(dell.access), 'an HS256 token names its HMAC key').to.include({ group: 'tenant-a' });
    await rm(path.join(dir, 'ec-1'));
    const retired = await load('ec-2');
    const error = await rejectionOf(new TokenVerifier({ keys: () => retired }).verify(old.access));
    expect(error).to.be.instanceOf(TokenError).and.include({ code: 'unknown-key', message: 'token was signed with key "ec-1", which is not (or no longer) loaded' });
  });

  it('refuses an asymmetric token without a kid, with an algorithm its key does not have, or signed by another key', async () => {
    await writeFile(path.join(dir, 'ec-1'), pem('ec'));
    await writeFile(path.join(dir, 'ed-1'), pem('ed25519'));
    const keys = await load('ec-1');
    const verifier = new TokenVerifier({ keys: () => keys });
    const claims = { iss: 'com.dell.csm', aud: 'csm', sub: 'csm-tenant', group: 'tenant-a', roles: 'gold', exp: Math.floor(Date.now() / 1000) + 60 };
    const foreignEc = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const foreignEd = generateKeyPairSync('ed25519').privateKey;
    const cases: [string, Record<string, string>, typeof foreignEc, string][] = [
      ['no kid', { alg: 'ES256' }, foreignEc, 'unknown-key'],
      ['EdDSA under the ES256 key', { alg: 'EdDSA', kid: 'ec-1' }, foreignEd, 'unsupported-algorithm'],
      ['a foreign key under a loaded kid', { alg: 'ES256', kid: 'ec-1' }, foreignEc, 'bad-signature'],
      ['a foreign key under an unknown kid', { alg: 'EdDSA', kid: 'ed-9' }, foreignEd, 'unknown-key'],
    ];
    for (const [what, header, key, code] of cases) {
      const token = await new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
      const error = await rejectionOf(verifier.verify(token));
      expect(error, what).to.be.instanceOf(TokenError).and.have.property('code', code);
    }
  });

  it('refuses an RSA key file and a PEM that is not a key, naming the kid', async () => {
    await writeFile(path.join(dir, 'rsa-1'), pem('rsa'));
    expect((await rejectionOf(load('rsa-1'))).message).to.match(/^signing key "rsa-1" \(.*\): a rsa key; only EC P-256 \(ES256\) and Ed25519 \(EdDSA\) keys are supported/);
    await writeFile(path.join(dir, 'rsa-1'), '-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n');
    expect((await rejectionOf(load('rsa-1'))).message).to.match(/^signing key "rsa-1" \(.*\): not a readable PEM private key$/);
  });
});
