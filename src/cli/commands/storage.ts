// `authzctl storage create|get|list|update|delete`: Storage objects. The array password never goes
// into the object, argv, or any output: it is read from a file, stdin or a silent prompt and written
// as the `username`/`password` files of a credentials directory the service reads
// (`<secrets-dir>/<secret>/`, the layout of a mounted Kubernetes Secret).
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { createAdapters } from '../../arrays/registry.js';
import { ArrayCheckError } from '../../arrays/types.js';
import type { LoadedObject } from '../../resources/load.js';
import { SYSTEM_TYPES, type ArrayCredentials, type StorageSystem } from '../../resources/types.js';
import { writeFileAtomic } from '../atomicWrite.js';
import { CliError } from '../errors.js';
import { rejectSecretFlag, type GlobalOptions } from '../globals.js';
import type { Column, Io } from '../output.js';
import { checkedObject, type Manifest, type ObjectStore } from '../resourceStore.js';
import { KubernetesStore } from '../kubernetesStore.js';
import { readSecret } from '../secretInput.js';
import { addGetAndList, assertAbsent, editable, globalsOf, manifest, openStore, requireStore, saveObject } from './common.js';

const STORAGE_COLUMNS: Column<StorageSystem>[] = [
  { header: 'NAME', value: (s) => s.name },
  { header: 'TYPE', value: (s) => s.type },
  { header: 'SYSTEM-ID', value: (s) => s.systemID },
  { header: 'ENDPOINT', value: (s) => s.endpoint },
  { header: 'CREDENTIALS', value: (s) => (s.credentials.kind === 'secret' ? `secret/${s.credentials.name}` : `secretProviderClass/${s.credentials.name}`) },
  { header: 'VERIFY-TLS', value: (s) => String(!s.skipCertificateValidation) },
];

const storageOf = (loaded: LoadedObject): StorageSystem => {
  if (loaded.object.kind !== 'Storage') throw new Error(`not a Storage: ${loaded.object.kind}`);
  return loaded.object.storage;
};

interface CredentialOptions {
  secret?: string;
  username?: string;
  passwordFile?: string;
  passwordStdin?: boolean;
  secretsDir?: string;
}

interface StorageOptions extends CredentialOptions {
  name?: string;
  type?: string;
  endpoint?: string;
  systemId?: string;
  skipCertificateValidation?: boolean;
  pollInterval?: string;
  isiPath?: string;
  maxConcurrentRequests?: number;
  dryRun?: boolean;
  skipArrayCheck?: boolean;
  arrayInsecure?: boolean;
}

const MAX_REQUESTS_FLAG = '--max-concurrent-requests <n>';
const MAX_REQUESTS_HELP = "the most requests the edge forwards to the array at once; more get a fast 503 with Retry-After (default: Envoy's 1024)";

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(number) || number < 1) throw new InvalidArgumentError('a whole number, at least 1');
  return number;
}

/** Options for where credentials come from, shared by create and update. */
function credentialOptions(command: Command): Command {
  command
    .option('--secret <name>', 'name of the credentials Secret (a directory under --secrets-dir with files username and password; in Kubernetes mode a Secret with those keys)')
    .option('-u, --username <user>', 'array user; writes the credentials files (password from --password-file, --password-stdin or a prompt)')
    .option('--password-file <file>', 'file holding the array password')
    .option('--password-stdin', 'read the array password from stdin')
    .addOption(new Option('--secrets-dir <dir>', 'where the service reads credentials: <secrets-dir>/<secret>/{username,password}').env('AUTHZCTL_SECRETS_DIR'))
    .option('--skip-array-check', 'store without logging in to the array to check the credentials and system ID (offline, GitOps)');
  rejectSecretFlag(command, '-p, --password <password>', '--password-file <file>, --password-stdin, or the prompt');
  return command;
}

export function registerStorageCommands(program: Command, io: Io): void {
  const storage = program.command('storage').description('storage systems (Storage objects): where each array is and where its credentials are');

  credentialOptions(
    storage
      .command('create')
      .description('register a storage system')
      .option('-n, --name <name>', 'object name (default: <type>-<system id>)')
      .requiredOption('-t, --type <type>', SYSTEM_TYPES.join(', '))
      .requiredOption('-e, --endpoint <url>', 'array REST endpoint, e.g. https://10.0.0.1')
      .requiredOption('-s, --system-id <id>', "the array's system ID")
      .option('--skip-certificate-validation', "do not verify the array's TLS certificate", false)
      .option('-a, --array-insecure', "karavictl's name for --skip-certificate-validation")
      .option('--poll-interval <duration>', 'how often to check the array, e.g. 30s')
      .option('--isi-path <path>', 'PowerScale base path, e.g. /ifs/data/csi')
      .option(MAX_REQUESTS_FLAG, MAX_REQUESTS_HELP, positiveInteger)
      .option('--dry-run', 'check and print the object without writing anything'),
  ).action(async (options: StorageOptions, command: Command) => {
    const globals = globalsOf(command);
    const name = options.name ?? defaultName(options.type ?? '', options.systemId ?? '');
    if (!options.secret && !options.username) {
      throw new CliError('say where the array credentials are: --secret <name> for an existing credentials Secret, or --username (password from --password-file, --password-stdin or a prompt) to write one');
    }
    const secret = options.secret ?? `${name}-credentials`;
    const spec: Record<string, unknown> = {
      type: options.type,
      endpoint: options.endpoint,
      systemID: options.systemId,
      skipCertificateValidation: (options.skipCertificateValidation ?? false) || options.arrayInsecure === true,
      storageSystemCredentials: { secret },
    };
    if (options.pollInterval !== undefined) spec.pollInterval = options.pollInterval;
    if (options.isiPath !== undefined) spec.isiPath = options.isiPath;
    if (options.maxConcurrentRequests !== undefined) spec.maxConcurrentRequests = options.maxConcurrentRequests;
    const store = await openStore(globals, options.dryRun);
    assertAbsent(store, 'Storage', name);
    await saveWithCredentials(io, globals, manifest('Storage', name, spec), secret, options, store);
  });

  addGetAndList(storage, io, {
    kind: 'Storage',
    noun: 'object',
    getDescription: 'show one storage system (never its password)',
    listDescription: 'list storage systems (never their passwords)',
    columns: STORAGE_COLUMNS,
    row: (_store, loaded) => storageOf(loaded),
    listFilter: { flags: '-t, --type <type>', option: 'type', description: 'only this array type', keep: (system, type) => system.type === type },
  });

  credentialOptions(
    storage
      .command('update')
      .description("change a storage system's endpoint, TLS verification or credentials")
      .requiredOption('-n, --name <name>', 'object name')
      .option('-e, --endpoint <url>', 'array REST endpoint')
      .option('--skip-certificate-validation', "do not verify the array's TLS certificate")
      .option('--no-skip-certificate-validation', "verify the array's TLS certificate")
      .option('--poll-interval <duration>', 'how often to check the array, e.g. 30s')
      .option(MAX_REQUESTS_FLAG, MAX_REQUESTS_HELP, positiveInteger),
  ).action(async (options: StorageOptions, command: Command) => {
    const changes = { endpoint: options.endpoint, skipCertificateValidation: options.skipCertificateValidation, pollInterval: options.pollInterval, maxConcurrentRequests: options.maxConcurrentRequests };
    if (Object.values(changes).every((v) => v === undefined) && !options.secret && !options.username) {
      throw new CliError('nothing to update: give --endpoint, --skip-certificate-validation, --poll-interval, --max-concurrent-requests, --secret or --username');
    }
    const globals = globalsOf(command);
    const store = await requireStore(globals);
    const object = editable(store.get('Storage', options.name ?? ''));
    for (const [field, value] of Object.entries(changes)) if (value !== undefined) object.spec[field] = value;
    if (options.secret) object.spec.storageSystemCredentials = { secret: options.secret };
    const credentials = object.spec.storageSystemCredentials as { secret?: string; secretProviderClass?: { name: string } };
    if (options.username && !credentials.secret) {
      throw new CliError(`Storage "${options.name}" reads its credentials through a SecretProviderClass; rotate them in the secret store`);
    }
    await saveWithCredentials(io, globals, object, credentials.secret ?? '', options, store);
  });

  storage
    .command('delete')
    .description('delete a storage system that no role uses')
    .requiredOption('-n, --name <name>', 'object name')
    .action(async (options: { name: string }, command: Command) => {
      const store = await requireStore(globalsOf(command));
      const system = storageOf(store.get('Storage', options.name));
      const roles = store.list('CSMRole').flatMap((l) => (l.object.kind === 'CSMRole' && l.object.role.systemType === system.type && l.object.role.systemID === system.systemID ? [l.object.name] : []));
      if (roles.length) throw new CliError(`Storage "${options.name}" is used by role(s) ${roles.join(', ')}; delete those roles first`);
      const file = await store.remove('Storage', options.name);
      io.stdout(`Storage "${options.name}" deleted from ${file} (its credentials${store instanceof KubernetesStore ? ' Secret' : ' files'}, if any, were left in place)\n`);
    });
}

/**
 * Checks the object against the store first, so a typo never leaves credentials behind for an
 * object that was not written; then writes the credentials (when --username was given: files under
 * --secrets-dir, or a Secret in Kubernetes mode), then the object.
 */
async function saveWithCredentials(io: Io, globals: GlobalOptions, object: Manifest, secret: string, options: StorageOptions, store: ObjectStore | undefined): Promise<void> {
  if (!options.username) {
    if (!options.dryRun) {
      await store?.save(object, { dryRun: true });
      await checkArray(io, object, options, () => storedCredentials(secret, options));
    }
    await saveObject(io, globals, object, { dryRun: options.dryRun, store });
    return;
  }
  const kubernetes = store instanceof KubernetesStore ? store : undefined;
  if (!kubernetes && !options.secretsDir) throw new CliError('--secrets-dir is required with --username: the directory the service reads array credentials from');
  if (options.passwordFile && options.passwordStdin) throw new CliError('--password-file and --password-stdin contradict each other; use one');
  if (options.dryRun) {
    await saveObject(io, globals, object, { dryRun: true, store });
    return;
  }
  await store?.save(object, { dryRun: true });
  const password = await readSecret({ file: options.passwordStdin ? '-' : options.passwordFile, prompt: 'Array password' });
  await checkArray(io, object, options, () => Promise.resolve({ username: options.username!, password }));
  if (kubernetes) {
    await kubernetes.saveCredentialsSecret(secret, { username: options.username, password });
    io.stdout(`credentials for Storage "${object.metadata.name}" written to Secret "${secret}" in namespace ${kubernetes.namespace} (username, password)\n`);
  } else {
    const dir = path.join(options.secretsDir!, secret);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path.join(dir, 'username'), options.username, 0o600);
    await writeFileAtomic(path.join(dir, 'password'), password, 0o600);
    io.stdout(`credentials for Storage "${object.metadata.name}" written to ${dir} (username, password)\n`);
  }
  await saveObject(io, globals, object, { store });
}

/** `powerflex-7045c4cc20dffc0f`: a DNS-1123 name from the type and system ID. */
export function defaultName(type: string, systemID: string): string {
  return `${type}-${systemID}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * Logs in to the array with the credentials and checks its system ID, as Dell's storage-service does,
 * before anything is written: a wrong endpoint, password or system ID is found now, not at a tenant's
 * first request. `--skip-array-check` stores unchecked (an array not reachable from here).
 */
async function checkArray(io: Io, object: Manifest, options: StorageOptions, credentials: () => Promise<ArrayCredentials>): Promise<void> {
  if (options.skipArrayCheck) return;
  const loaded = checkedObject(object).object;
  if (loaded.kind !== 'Storage') return;
  const system = loaded.storage;
  const adapters = createAdapters();
  try {
    const adapter = adapters.registry.get(system.type);
    if (!adapter?.checkSystem) {
      io.stderr(`note: ${system.type} arrays cannot be checked yet; Storage "${system.name}" is stored without logging in to ${system.endpoint}\n`);
      return;
    }
    await adapter.checkSystem(system, await credentials());
    io.stderr(`array check: logged in to ${system.endpoint} as "${(await credentials()).username}", system ID ${system.systemID} confirmed\n`);
  } catch (error) {
    if (error instanceof ArrayCheckError) throw new CliError(`Storage "${system.name}" not saved, the array check failed: ${error.message} (--skip-array-check stores it unchecked)`);
    throw error;
  } finally {
    await adapters.close();
  }
}

/** The credentials an existing secret holds: `<secrets-dir>/<secret>/{username,password}`. */
async function storedCredentials(secret: string, options: StorageOptions): Promise<ArrayCredentials> {
  if (!options.secretsDir) {
    throw new CliError(`cannot check the array without its credentials: give --secrets-dir (where secret "${secret}" is), --username, or --skip-array-check`);
  }
  const read = async (name: string) => {
    const file = path.join(options.secretsDir!, secret, name);
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch (error) {
      throw new CliError(`cannot check the array: credentials file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)} (or --skip-array-check)`);
    }
  };
  return { username: await read('username'), password: await read('password') };
}
