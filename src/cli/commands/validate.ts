// `authzctl validate <dir>`: the service's own load of a resources directory, without the service.
import type { Command } from 'commander';
import { formatResourceError } from '../../resources/errors.js';
import { loadResourceDirectory } from '../../resources/load.js';
import { CliError } from '../errors.js';
import type { Io } from '../output.js';

export function registerValidateCommand(program: Command, io: Io): void {
  program
    .command('validate')
    .description('check a resources directory as the service would load it; lists every problem with file, object and field')
    .argument('<dir>', 'directory of CSMTenant/CSMRole/Storage YAML files')
    .action(async (dir: string) => {
      const build = await loadResourceDirectory(dir, 1);
      if (!build.ok) {
        const problems = build.errors.map((error) => `  ${formatResourceError(error)}`).join('\n');
        throw new CliError(`${dir} is not valid (${build.errors.length} problem${build.errors.length === 1 ? '' : 's'}):\n${problems}`);
      }
      const { tenants, roles, storage } = build.snapshot;
      io.stdout(`${dir} is valid: ${tenants.size} tenant(s), ${roles.size} role(s), ${storage.size} storage system(s)\n`);
    });
}
