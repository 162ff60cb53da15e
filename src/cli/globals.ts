// Options every authzctl command shares, and the helpers that turn them into an admin API client.
import { Option, type Command } from 'commander';
import { AdminClient, type ConnectionOptions } from './client.js';
import { CliError } from './errors.js';
import type { OutputFormat } from './output.js';

export interface GlobalOptions extends ConnectionOptions {
  output: OutputFormat;
  resourcesDir?: string;
  /** Kubernetes mode (when no resources directory is given): the CRs of this cluster. */
  kubeconfig?: string;
  kubeNamespace?: string;
}

/** Connects, runs `use`, and always releases the connection pool. */
export async function withClient<T>(options: ConnectionOptions, use: (client: AdminClient) => Promise<T>): Promise<T> {
  const client = await AdminClient.connect(options);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/**
 * Adds a hidden flag that Dell's CLI had for a secret on the command line, so that someone used to it
 * is told where the secret goes instead of "unknown option" — and the value is never used.
 */
export function rejectSecretFlag(command: Command, flags: string, alternative: string): void {
  command.addOption(
    new Option(flags).hideHelp().argParser(() => {
      throw new CliError(`secrets are not accepted on the command line (they end up in shell history and ps); use ${alternative}`);
    }),
  );
}
