/** What the HTTP edge learns about a request while handling it, read back when it is answered. */
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../auth/index.js';

const callers = new WeakMap<FastifyRequest, Caller>();
const errors = new WeakMap<FastifyRequest, Error>();

/** Remembers who `req` was found to come from. */
export function noteCaller(req: FastifyRequest, caller: Caller): Caller {
  callers.set(req, caller);
  return caller;
}

/** The caller found for `req`, if any. */
export function callerOf(req: FastifyRequest): Caller | undefined {
  return callers.get(req);
}

/** Remembers the error `req` was answered with. */
export function noteError(req: FastifyRequest, err: Error): void {
  errors.set(req, err);
}

/** The error `req` was answered with, if any. */
export function errorOf(req: FastifyRequest): Error | undefined {
  return errors.get(req);
}
