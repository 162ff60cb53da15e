// `authzctl generate sidecar --identity serviceaccount`: what the cluster admin adds to the CSI
// driver's pods so the sidecar sends the pod's own projected service-account token (kubelet
// requests and rotates it) instead of a proxy-authz-tokens pair, and the trust command the storage
// admin runs for it. Printed, never applied: the driver's chart owns the pod spec.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { stringify } from 'yaml';
import type { Io } from '../output.js';

const TOKEN_DIR = '/var/run/secrets/storage-authz';
const VOLUME = 'storage-authz-token';
// Dell's sidecar container name in its driver charts, so the snippet lines up with theirs.
const SIDECAR_CONTAINER = 'karavi-authorization-proxy';

interface SnippetOptions {
  identity: 'serviceaccount';
  audience: string;
  expirationSeconds: number;
  namespace: string;
  serviceAccount: string[];
  tenant: string;
}

function expiration(value: string): number {
  const seconds = Number(value);
  // TokenRequest refuses less than 10 minutes; kubelet rotates at 80% of the lifetime.
  if (!Number.isInteger(seconds) || seconds < 600) throw new InvalidArgumentError('a whole number of seconds, at least 600 (TokenRequest\'s minimum)');
  return seconds;
}

export function registerSidecarSnippet(generate: Command, io: Io): void {
  generate
    .command('sidecar')
    .description("print the driver pod additions for the sidecar to send the pod's service-account token (no token Secret)")
    .addOption(new Option('--identity <kind>', 'the credential the sidecar sends').choices(['serviceaccount']).makeOptionMandatory())
    .requiredOption('-t, --tenant <name>', 'the tenant the service accounts act as')
    .option('--namespace <namespace>', "the driver's namespace", 'vxflexos')
    .option('--service-account <name...>', "the driver's service accounts (controller and node)", ['vxflexos-controller', 'vxflexos-node'])
    .option('--audience <aud>', 'audience of the projected token (the tenant identity trusts it)', 'storage-authz')
    .option('--expiration-seconds <seconds>', 'projected token lifetime; kubelet renews it at 80%', expiration, 3600)
    .action((options: SnippetOptions) => {
      const pod = {
        volumes: [{ name: VOLUME, projected: { sources: [{ serviceAccountToken: { audience: options.audience, expirationSeconds: options.expirationSeconds, path: 'token' } }] } }],
        containers: [{
          name: SIDECAR_CONTAINER,
          args: ['sidecar', '--identity', 'serviceaccount', '--token-file', `${TOKEN_DIR}/token`],
          volumeMounts: [{ name: VOLUME, mountPath: TOKEN_DIR, readOnly: true }],
        }],
      };
      const subjects = options.serviceAccount.map((name) => `system:serviceaccount:${options.namespace}:${name}`);
      io.stdout([
        '# Driver controller and node pod spec additions (merge into the pods of the driver chart).',
        '# Dell driver chart values stay: authorization.enabled: true, authorization.proxyHost, skipCertificateValidation;',
        '# the proxy-authz-tokens Secret is no longer needed (delete it once the sidecar is ready).',
        stringify(pod).trimEnd(),
        '# Storage admin: trust this cluster for the tenant (issuer: kubectl get --raw /.well-known/openid-configuration).',
        `#   authzctl tenant trust --name ${options.tenant} --issuer <issuer> --audience ${options.audience} ${subjects.map((s) => `--subject ${s}`).join(' ')} [--ca-file <cluster CA> | --jwks-file <kubectl get --raw /openid/v1/jwks>]`,
        '',
      ].join('\n'));
    });
}
