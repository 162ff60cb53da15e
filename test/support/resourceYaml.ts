// Small CSMTenant/CSMRole/Storage YAML documents for tests of the resources directory.
const API = 'apiVersion: csm-authorization.storage.dell.com/v1';

export const SYSTEM_ID = '7045c4cc20dffc0f';

/** Storage "powerflex-1" (system SYSTEM_ID), credentials in the Secret "powerflex-creds". */
export const STORAGE_YAML = `${API}
kind: Storage
metadata: {name: powerflex-1}
spec:
  type: powerflex
  endpoint: https://10.0.0.1
  systemID: ${SYSTEM_ID}
  skipCertificateValidation: false
  storageSystemCredentials: {secret: powerflex-creds}
`;

export const roleYaml = (name: string, quota: string, systemID = SYSTEM_ID): string => `${API}
kind: CSMRole
metadata: {name: ${name}}
spec: {quota: ${quota}, systemType: powerflex, systemID: ${systemID}, pool: bronze}
`;

export const tenantYaml = (name: string, roles: string, revoke = false): string => `${API}
kind: CSMTenant
metadata: {name: ${name}}
spec: {roles: "${roles}", approveSdc: true, revoke: ${revoke}}
`;
