/** What the management API's handlers share: the acting caller, body validation and replies. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Actor, AuthService, Principal } from '../auth/index.js';
import { BerthError } from '../oci/index.js';
import { clientAddress, identifyCaller } from './auth-edge.js';

const READS = new Set(['GET', 'HEAD']);

/**
 * The caller of an API request (anonymous callers allowed): a web session, an access token or
 * Basic credentials, never a registry token. A `read`-level access token only reads.
 */
export async function apiPrincipal(
  auth: AuthService,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Principal> {
  const { principal } = await identifyCaller(auth, req, reply, 'management');
  if (principal.kind === 'user' && principal.cap === 'read' && !READS.has(req.method))
    throw new BerthError('DENIED', 'an access token with read access may only read');
  return principal;
}

/** The signed-in user performing an API request; 401 for anonymous callers. */
export async function apiActor(
  auth: AuthService,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Actor> {
  const principal = await apiPrincipal(auth, req, reply);
  if (principal.kind !== 'user') {
    reply.header('WWW-Authenticate', `Basic realm="${auth.settings.service}"`);
    throw new BerthError('UNAUTHORIZED', 'sign in to use this part of the API');
  }
  return { principal, address: clientAddress(req) };
}

/** The request body validated by `schema`; INVALID_REQUEST naming the field otherwise. */
export function bodyOf<T extends z.ZodType>(schema: T, req: FastifyRequest): z.infer<T> {
  const result = schema.safeParse(req.body ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new BerthError('INVALID_REQUEST', `${where}${issue.message}`);
  }
  return result.data;
}

/** Answers with JSON `value` and `status`. */
export function json(reply: FastifyReply, value: unknown, status = 200): void {
  reply.code(status).header('Content-Type', 'application/json').send(JSON.stringify(value));
}

/** Answers 204 No Content. */
export function noContent(reply: FastifyReply): void {
  reply.code(204).send();
}

/** A route parameter (Fastify decodes them). */
export function param(req: FastifyRequest, name: string): string {
  return (req.params as Record<string, string>)[name] ?? '';
}

/**
 * An integer query parameter from 1 to `max` (`value`, by default the parameter `name`), or
 * `fallback` when absent; INVALID_REQUEST naming it otherwise.
 */
export function intQuery(
  req: FastifyRequest,
  name: string,
  fallback: number,
  max: number,
  value = queryParam(req, name),
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new BerthError('INVALID_REQUEST', `${name} must be an integer from 1 to ${max}`);
  return n;
}

/** A query parameter, or undefined. */
export function queryParam(req: FastifyRequest, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
