// A resources directory for the admin API and authzctl tests: one PowerFlex system whose password
// sits in a credentials file, a 100 GiB role, and tenants in each state a token request can meet.
// The secrets are distinctive strings so a test can grep every output for them.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { API_VERSION } from '../../src/resources/types.js';

export const ADMIN_FIXTURE = {
  kid: 'k1',
  signingSecret: 'Sign1ng-Secret-For-Tests-0f3a9c2e7b5d4a1c8e6f',
  arrayPassword: 'Arr4y-Passw0rd-For-Tests-7e1b',
  arrayUsername: 'admin',
  systemID: '7045c4cc20dffc0f',
} as const;

export interface FixtureDirs {
  keysDir: string;
  resourcesDir: string;
  secretsDir: string;
}

const manifest = (kind: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: API_VERSION, kind, metadata: { name }, spec });

const tenant = (name: string, roles: string, revoke = false) => manifest('CSMTenant', name, { roles, approveSdc: false, revoke });

/** Writes keys, credentials and resources under `dir`. */
export async function writeFixtureDirs(dir: string): Promise<FixtureDirs> {
  const dirs = { keysDir: path.join(dir, 'keys'), resourcesDir: path.join(dir, 'resources'), secretsDir: path.join(dir, 'secrets') };
  await mkdir(dirs.keysDir, { recursive: true });
  await mkdir(dirs.resourcesDir, { recursive: true });
  await mkdir(path.join(dirs.secretsDir, 'powerflex-creds'), { recursive: true });
  await writeFile(path.join(dirs.keysDir, ADMIN_FIXTURE.kid), `${ADMIN_FIXTURE.signingSecret}\n`, { mode: 0o600 });
  await writeFile(path.join(dirs.secretsDir, 'powerflex-creds', 'username'), ADMIN_FIXTURE.arrayUsername);
  await writeFile(path.join(dirs.secretsDir, 'powerflex-creds', 'password'), ADMIN_FIXTURE.arrayPassword, { mode: 0o600 });

  const objects = [
    manifest('Storage', 'powerflex-main', {
      type: 'powerflex',
      endpoint: 'https://10.0.0.1',
      systemID: ADMIN_FIXTURE.systemID,
      skipCertificateValidation: false,
      storageSystemCredentials: { secret: 'powerflex-creds' },
    }),
    manifest('CSMRole', 'gold', { quota: '100GiB', systemType: 'powerflex', systemID: ADMIN_FIXTURE.systemID, pool: 'bronze' }),
    tenant('team-a', 'gold'),
    tenant('revoked', 'gold', true),
    tenant('no-roles', ''),
  ];
  await writeFile(path.join(dirs.resourcesDir, 'fixture.yaml'), objects.map((object) => stringify(object)).join('---\n'));
  return dirs;
}
