/**
 * Each request's logger, made only when the request logs something. Fastify would otherwise
 * build a pino child (its bindings serialized) for every request, which a cached read — logging
 * nothing at the default level — never uses.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type LogCall = (...args: unknown[]) => void;
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A child of `parent` with `bindings`, made at its first use. */
class DeferredChildLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  /** The child itself, made now if not yet. */
  real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real().level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }
}

for (const level of LEVELS) {
  Object.defineProperty(DeferredChildLogger.prototype, level, {
    value: function (this: DeferredChildLogger, ...args: unknown[]): void {
      (this.real()[level] as LogCall)(...args);
    },
  });
}

/**
 * Fastify's `childLoggerFactory`: the request's logger as `parent.child(bindings, options)` would
 * be, made when first used (a log call, `child`, or setting its level).
 */
export function deferredRequestLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new DeferredChildLogger(parent, bindings, options) as unknown as FastifyBaseLogger;
}
