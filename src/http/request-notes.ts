/** What the HTTP edge learns about a request while handling it, read back when it is answered. */
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../auth/index.js';

// Kept on the request itself (as the route kind is): a WeakMap entry per request cost the hot
// path a hash-table insertion and the young-generation collector an ephemeron to trace.
const CALLER = Symbol('berth.caller');
const ERROR = Symbol('berth.error');

type Noted = FastifyRequest & { [CALLER]?: Caller; [ERROR]?: Error };

/** Remembers who `req` was found to come from. */
export function noteCaller(req: FastifyRequest, caller: Caller): Caller {
  (req as Noted)[CALLER] = caller;
  return caller;
}

/** The caller found for `req`, if any. */
export function callerOf(req: FastifyRequest): Caller | undefined {
  return (req as Noted)[CALLER];
}

/** Remembers the error `req` was answered with. */
export function noteError(req: FastifyRequest, err: Error): void {
  (req as Noted)[ERROR] = err;
}

/** The error `req` was answered with, if any. */
export function errorOf(req: FastifyRequest): Error | undefined {
  return (req as Noted)[ERROR];
}
