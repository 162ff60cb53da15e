// One structured logger (pino) for every process mode. Secrets never reach a log line: known
// secret-bearing fields are censored here, and callers log names and ids, never token or password values.
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACTED_PATHS = [
  'authorization',
  'token',
  'accessToken',
  'refreshToken',
  'password',
  'secret',
  '*.authorization',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.password',
  '*.secret',
  'headers.authorization',
  'headers.cookie',
  'headers["x-csrf-token"]',
];

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'storage-authz',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  });
}

/** A logger that drops everything: for unit tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
