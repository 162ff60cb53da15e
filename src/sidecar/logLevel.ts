// The log level from the driver's config-params ConfigMap (`driver-config-params.yaml`, key
// `CSI_LOG_LEVEL`), which Dell's driver charts mount into the authorization container and change in
// place: re-read whenever the mounted ConfigMap changes, as Dell's sidecar does with fsnotify.
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { watchAndReload, type ReloadingValue } from '../resources/watch.js';
import type { Logger } from '../telemetry/log.js';

/** Dell's drivers use logrus level names; pino has no `panic` and spells `warning` `warn`. */
const LEVELS: Readonly<Record<string, string>> = {
  panic: 'fatal', fatal: 'fatal', error: 'error', warn: 'warn', warning: 'warn', info: 'info', debug: 'debug', trace: 'trace',
};

/** The pino level `CSI_LOG_LEVEL` names; undefined when the file does not set it. Throws on an unknown level. */
export function parseLogLevel(text: string, source: string): string | undefined {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new Error(`${source}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  const value = typeof document === 'object' && document !== null ? (document as Record<string, unknown>).CSI_LOG_LEVEL : undefined;
  if (value === undefined || value === null) return undefined;
  const level = LEVELS[String(value).trim().toLowerCase()];
  if (!level) throw new Error(`${source}: CSI_LOG_LEVEL "${String(value)}" is not one of ${Object.keys(LEVELS).join(', ')}`);
  return level;
}

/**
 * Applies the file's level to `logger` now and on every change; a missing file leaves the level
 * as started (`fallbackLevel`), a missing directory means nothing to follow (undefined). An
 * unreadable level is logged and the current one kept.
 */
export async function followLogLevel(file: string, logger: Logger, fallbackLevel: string): Promise<ReloadingValue<string> | undefined> {
  try {
    await access(path.dirname(file));
  } catch {
    return undefined;
  }
  const load = async (): Promise<string> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallbackLevel;
      throw error;
    }
    return parseLogLevel(text, file) ?? fallbackLevel;
  };
  const level = await watchAndReload(path.dirname(file), {
    load,
    equal: (a, b) => a === b,
    logger,
    what: 'driver config params',
    onRejected: (error) => logger.warn({ err: { message: (error as Error).message } }, 'driver config params changed but cannot be used; keeping the log level'),
  });
  const apply = (next: string) => {
    logger.level = next;
    logger.info({ logLevel: next, file }, 'log level from the driver config params');
  };
  apply(level.current());
  level.onChange(apply);
  return level;
}
