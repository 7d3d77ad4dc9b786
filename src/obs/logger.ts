/** JSON-line logging with pino. */
import { pino, type Logger } from 'pino';

/** A pino logger writing JSON lines to stdout at `level`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'berth' }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
