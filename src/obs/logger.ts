/** JSON-line logging with pino. */
import { pino, type Logger } from 'pino';

const OPTIONS = { base: { service: 'berth' }, timestamp: pino.stdTimeFunctions.isoTime };

/** A pino logger writing JSON lines to stdout at `level` (the server's log). */
export function createLogger(level: string): Logger {
  return pino({ level, ...OPTIONS });
}

/**
 * The logger of a one-shot CLI command: warnings and errors only, to stderr, so that what the
 * command prints on stdout (`--json` above all) stays only its own output.
 */
export function createCliLogger(): Logger {
  return pino({ level: 'warn', ...OPTIONS }, pino.destination({ fd: 2, sync: true }));
}

export type { Logger };
