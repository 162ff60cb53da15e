import { expect } from 'chai';
import { validateObject, type FieldError } from './objects.js';

const API = 'csm-authorization.storage.dell.com/v1';
const tenant = (spec: Record<string, unknown>, name = 'tenant-a') => ({ apiVersion: API, kind: 'CSMTenant', metadata: { name }, spec });
const role = (spec: Record<string, unknown>) => ({ apiVersion: API, kind: 'CSMRole', metadata: { name: 'bronze-100g' }, spec });
const storage = (spec: Record<string, unknown>) => ({ apiVersion: API, kind: 'Storage', metadata: { name: 'powerflex-1' }, spec });
const storageSpec = {
  type: 'powerflex',
  endpoint: 'https://10.0.0.1',
  systemID: '7045c4cc20dffc0f',
  skipCertificateValidation: false,
  storageSystemCredentials: { secret: 'powerflex-creds' },
};

function errorsOf(obj: unknown): FieldError[] {
  const result = validateObject(obj);
  if (result.ok) throw new Error(`expected ${JSON.stringify(obj)} to be rejected`);
  return result.errors;
}

describe('resources: validateObject', () => {
  it('converts a CSMTenant, splitting and trimming its comma list of roles', () => {
    expect(validateObject(tenant({ roles: 'bronze-100g, silver', approveSdc: true, revoke: false, volumePrefix: 'tna' }))).to.deep.equal({
      ok: true,
      value: { kind: 'CSMTenant', name: 'tenant-a', tenant: { name: 'tenant-a', roles: ['bronze-100g', 'silver'], approveSdc: true, revoke: false, volumePrefix: 'tna' } },
    });
    const noRoles = validateObject(tenant({ approveSdc: false, revoke: true }));
    expect(noRoles.ok && noRoles.value.kind === 'CSMTenant' && noRoles.value.tenant.roles).to.deep.equal([]);
  });

  it('reads spec.enforcement of a role and a tenant (absent: enforce, left unset), and refuses any other mode', () => {
    const reporting = validateObject(role({ quota: '8GiB', systemID: '7045c4cc20dffc0f', systemType: 'powerflex', pool: 'bronze', enforcement: 'report' }));
    expect(reporting.ok && reporting.value.kind === 'CSMRole' && reporting.value.role.enforcement).to.equal('report');
    const enforcing = validateObject(tenant({ approveSdc: false, revoke: false, enforcement: 'enforce' }));
    expect(enforcing.ok && enforcing.value.kind === 'CSMTenant' && enforcing.value.tenant.enforcement).to.equal('enforce');
    const unset = validateObject(tenant({ approveSdc: false, revoke: false }));
    expect(unset.ok && unset.value.kind === 'CSMTenant' && unset.value.tenant).to.not.have.property('enforcement');
    expect(errorsOf(tenant({ approveSdc: false, revoke: false, enforcement: 'warn' })).map((e) => e.path)).to.deep.equal(['spec.enforcement']);
    expect(errorsOf(role({ quota: 1, systemID: 'x', systemType: 'powerflex', pool: 'p', enforcement: 'dry-run' })).map((e) => e.path)).to.deep.equal(['spec.enforcement']);
  });

  it('converts a CSMRole with its quota in KiB; PowerStore roles need no pool', () => {
    const bronze = validateObject(role({ quota: '100GiB', systemID: '7045c4cc20dffc0f', systemType: 'powerflex', pool: 'bronze' }));
    expect(bronze.ok && bronze.value).to.deep.equal({
      kind: 'CSMRole', name: 'bronze-100g',
      role: { name: 'bronze-100g', systemType: 'powerflex', systemID: '7045c4cc20dffc0f', pool: 'bronze', quota: { kind: 'limited', kib: 100 * 1024 * 1024 } },
    });
    const store = validateObject(role({ quota: 0, systemID: 'PS4ebb8d4e8488', systemType: 'powerstore' }));
    expect(store.ok && store.value.kind === 'CSMRole' && store.value.role).to.include({ pool: 'PS4ebb8d4e8488' }).and.deep.include({ quota: { kind: 'unlimited' } });
  });

  it('converts a Storage with either credential source', () => {
    const secret = validateObject(storage(storageSpec));
    expect(secret.ok && secret.value.kind === 'Storage' && secret.value.storage).to.deep.equal({
      name: 'powerflex-1', type: 'powerflex', endpoint: 'https://10.0.0.1', systemID: '7045c4cc20dffc0f',
      skipCertificateValidation: false, credentials: { kind: 'secret', name: 'powerflex-creds' },
    });
    const spc = { name: 'vault-pf', usernameObjectName: 'pf-user', passwordObjectName: 'pf-pass' };
    const fromVault = validateObject(storage({ ...storageSpec, pollInterval: '30s', storageSystemCredentials: { secretProviderClass: spc } }));
    expect(fromVault.ok && fromVault.value.kind === 'Storage' && fromVault.value.storage).to.deep.include({ pollInterval: '30s', credentials: { kind: 'secretProviderClass', ...spc } });
  });

  it('names the field and the reason for each kind of mistake', () => {
    expect(errorsOf(role({ quota: '100GB7', systemID: 'x', systemType: 'powerflex', pool: 'p' }))).to.deep.equal([
      { path: 'spec.quota', message: '"100GB7" is not a size (e.g. 100GiB, 10TiB, 500MiB, 10GB, or 0 for unlimited)' },
    ]);
    expect(errorsOf(role({ quota: '1GiB', systemID: 'x', systemType: 'powerflex' }))).to.deep.equal([{ path: 'spec.pool', message: 'is required' }]);
    expect(errorsOf(role({ quota: '1GiB', systemID: 'x', systemType: 'unity', pool: 'p' }))).to.deep.equal([
      { path: 'spec.systemType', message: '"unity" is not one of powerflex, powermax, powerscale, powerstore' },
    ]);
    expect(errorsOf(tenant({ approveSDC: true, revoke: false }))).to.have.deep.members([
      { path: 'spec.approveSdc', message: 'is required' },
      { path: 'spec.approveSDC', message: 'is not a known field (did you mean "approveSdc"?)' },
    ]);
    expect(errorsOf(tenant({ approveSdc: 'yes', revoke: false, volumePrefix: 'toolong' }))).to.have.deep.members([
      { path: 'spec.approveSdc', message: 'must be boolean, not "yes"' },
      { path: 'spec.volumePrefix', message: '"toolong" is not valid: expected 1 to 3 letters or digits put before the names of this tenant\'s volumes' },
    ]);
    expect(errorsOf(tenant({ roles: 'gold,,silver,gold', approveSdc: true, revoke: false }))).to.deep.equal([
      { path: 'spec.roles', message: '"" in "gold,,silver,gold" is not a role name (comma-separated DNS-1123 names)' },
      { path: 'spec.roles', message: 'role "gold" is listed twice in "gold,,silver,gold"' },
    ]);
    expect(errorsOf(tenant({ approveSdc: true, revoke: false }, 'Tenant_A'))[0]).to.have.property('path', 'metadata.name');
    expect(errorsOf(storage({ ...storageSpec, endpoint: 'http://10.0.0.1' }))[0]!.message).to.match(/^"http:\/\/10.0.0.1" is not valid: expected an https:\/\/ URL/);
    expect(errorsOf(storage({ ...storageSpec, storageSystemCredentials: { secret: 'a', secretProviderClass: { name: 'b', usernameObjectName: 'u', passwordObjectName: 'p' } } }))).to.deep.equal([
      { path: 'spec.storageSystemCredentials', message: 'must have exactly one of secret or secretProviderClass' },
    ]);
    expect(errorsOf(storage({ ...storageSpec, storageSystemCredentials: { secretProviderClass: { name: 'b', usernameObjectName: '../../etc/passwd', passwordObjectName: 'p' } } }))[0])
      .to.have.property('path', 'spec.storageSystemCredentials.secretProviderClass.usernameObjectName');
  });

  it('rejects unknown kinds, other API versions and non-objects', () => {
    expect(errorsOf({ apiVersion: API, kind: 'Tenant', metadata: { name: 'a' }, spec: {} })).to.deep.equal([{ path: 'kind', message: '"Tenant" is not one of CSMTenant, CSMRole, Storage' }]);
    expect(errorsOf({ ...tenant({ approveSdc: true, revoke: false }), apiVersion: 'v1' })).to.deep.equal([{ path: 'apiVersion', message: `must be "${API}", not "v1"` }]);
    expect(errorsOf('CSMTenant')[0]!.message).to.match(/must be an object/);
  });

  it('checks a tenant cluster identity: keys from at most one source (none: OIDC discovery), subjects as service accounts, no private key', () => {
    const identity = (fields: Record<string, unknown>) => tenant({ approveSdc: true, revoke: false, identities: [{ issuer: 'https://cluster-a.example', audiences: ['storage-authz'], subjects: ['system:serviceaccount:ns:sa'], ...fields }] });
    expect(errorsOf(identity({ jwksUri: 'https://a/jwks', jwks: { keys: [] } }))).to.deep.include({ path: 'spec.identities.0', message: 'may set at most one of jwksUri, jwks' });
    const discovered = validateObject(identity({}));
    expect(discovered.ok && discovered.value.kind === 'CSMTenant' && discovered.value.tenant.identities?.[0]?.keys).to.deep.equal({ kind: 'discovery' });
    expect(errorsOf(identity({ caBundle: 'PEM', jwks: { keys: [] } }))).to.deep.equal([{ path: 'spec.identities.0.caBundle', message: 'does not apply to inline jwks (they are not fetched)' }]);
    expect(errorsOf(identity({ jwksUri: 'https://a/jwks', subjects: ['default'] }))[0]).to.have.property('path', 'spec.identities.0.subjects.0');
    expect(errorsOf(identity({ jwks: { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB', d: 'secret' }] } }))).to.deep.equal([{ path: 'spec.identities.0.jwks.keys.0', message: 'is a private key: give only the public keys' }]);
    expect(errorsOf(identity({ issuer: 'cluster-a', jwks: { keys: [] } }))).to.deep.equal([{ path: 'spec.identities.0.issuer', message: '"cluster-a" is not a URL (a service-account issuer is one, e.g. https://kubernetes.default.svc)' }]);
  });
});
