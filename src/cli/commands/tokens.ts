// `authzctl admin token` (minted locally from the signing secret, like Dell's) and
// `authzctl generate token` (a tenant's proxy-authz-tokens Secret, minted by the admin API).
import path from 'node:path';
import type { Command } from 'commander';
import { parse, stringify } from 'yaml';
import { formatGoDuration, parseGoDuration } from '../../admin/duration.js';
import { TOKEN_SECRET_NAME } from '../../admin/tenantToken.js';
import { assertStrongSecret, SigningKeyError } from '../../tokens/keys.js';
import { mintTokenPair } from '../../tokens/mint.js';
import { CliError } from '../errors.js';
import { registerSidecarSnippet } from './sidecarSnippet.js';
import type { Io } from '../output.js';
import { readSecret } from '../secretInput.js';
import { rejectSecretFlag, withClient, type GlobalOptions } from '../globals.js';

/** Dell's CLI defaults (reference §2.2). */
const DEFAULT_ACCESS_TTL = '1m';
const DEFAULT_REFRESH_TTL = '720h';

export function registerTokenCommands(program: Command, io: Io): void {
  const admin = program.command('admin').description('admin credentials');
  const adminToken = admin
    .command('token')
    .description('mint an admin token pair locally with the service signing secret (prints YAML access/refresh)')
    .option('-n, --name <name>', 'admin name (the token "group" claim)', 'admin')
    .option('--secret-file <file>', 'file holding the signing secret, e.g. the service key file; "-" reads stdin (default: prompt, or stdin when piped)')
    .option('--kid <kid>', "key id of the secret (the key's file name on the service); default: the --secret-file name")
    .option('--access-token-expiration <duration>', 'access token lifetime (Go duration)', DEFAULT_ACCESS_TTL)
    .option('--refresh-token-expiration <duration>', 'refresh token lifetime (Go duration)', DEFAULT_REFRESH_TTL);
  rejectSecretFlag(adminToken, '-s, --jwt-signing-secret <secret>', '--secret-file <file> or stdin');
  adminToken.action(async (options: { name: string; secretFile?: string; kid?: string; accessTokenExpiration: string; refreshTokenExpiration: string }) => {
    const accessTtlSeconds = ttlSeconds('--access-token-expiration', options.accessTokenExpiration);
    const refreshTtlSeconds = ttlSeconds('--refresh-token-expiration', options.refreshTokenExpiration);
    const kid = options.kid ?? (options.secretFile && options.secretFile !== '-' ? path.basename(options.secretFile) : undefined);
    if (!kid) throw new CliError('--kid is required when the secret comes from stdin: the name of the key file the service loads');
    const secret = await readSecret({ file: options.secretFile, prompt: 'Signing secret' });
    try {
      assertStrongSecret(secret, 'admin token');
    } catch (error) {
      if (error instanceof SigningKeyError) throw new CliError(error.message);
      throw error;
    }
    const pair = await mintTokenPair({
      keys: { defaultKid: kid, keys: new Map([[kid, new TextEncoder().encode(secret)]]) },
      subject: 'csm-admin',
      group: options.name,
      roles: [],
      accessTtlSeconds,
      refreshTtlSeconds,
    });
    io.stdout(stringify({ access: pair.access, refresh: pair.refresh }));
    io.stderr(`Admin token for "${options.name}" signed with key "${kid}" (access ${formatGoDuration(accessTtlSeconds * 1000)}, refresh ${formatGoDuration(refreshTtlSeconds * 1000)}); save it and pass it with --admin-token <file>\n`);
  });

  const generate = program.command('generate').description('generate credentials for a tenant');
  registerSidecarSnippet(generate, io);
  generate
    .command('token')
    .description('print the proxy-authz-tokens Secret for a tenant (pipe it to: kubectl apply -n <driver namespace> -f -)')
    .requiredOption('-t, --tenant <name>', 'tenant name')
    .option('--namespace <namespace>', 'put the Secret in this namespace (default: the one kubectl applies to)')
    .option('--access-token-expiration <duration>', 'access token lifetime (Go duration)', DEFAULT_ACCESS_TTL)
    .option('--refresh-token-expiration <duration>', 'refresh token lifetime (Go duration)', DEFAULT_REFRESH_TTL)
    .action(async (options: { tenant: string; namespace?: string; accessTokenExpiration: string; refreshTokenExpiration: string }, command: Command) => {
      ttlSeconds('--access-token-expiration', options.accessTokenExpiration);
      ttlSeconds('--refresh-token-expiration', options.refreshTokenExpiration);
      const globals = command.optsWithGlobals<GlobalOptions>();
      const reply = await withClient(globals, (client) =>
        client.call('POST', '/proxy/tenant/token/', {
          tenant: options.tenant,
          accessTokenTTL: options.accessTokenExpiration,
          refreshTokenTTL: options.refreshTokenExpiration,
        }),
      );
      const manifest = (reply as { Token?: unknown } | undefined)?.Token;
      if (typeof manifest !== 'string') throw new CliError('admin API answered without a token Secret');
      const secret = parse(manifest) as { metadata: Record<string, unknown> };
      if (options.namespace) secret.metadata.namespace = options.namespace;
      io.stdout(globals.output === 'json' ? `${JSON.stringify(secret, null, 2)}\n` : stringify(secret));
      io.stderr(`Token Secret "${TOKEN_SECRET_NAME}" generated for tenant "${options.tenant}" (access ${options.accessTokenExpiration}, refresh ${options.refreshTokenExpiration})\n`);
    });
}

function ttlSeconds(flag: string, text: string): number {
  let ms: number;
  try {
    ms = parseGoDuration(text);
  } catch (error) {
    throw new CliError(`${flag}: ${(error as Error).message}`);
  }
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) throw new CliError(`${flag} must be at least 1s`);
  return seconds;
}
