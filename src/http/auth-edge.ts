/** Where requests meet access control: challenges, who the caller is, and refusals as responses. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService, Caller, RepositoryAction, TokenAudience } from '../auth/index.js';
import { BerthError } from '../oci/index.js';
import { requestHost } from './host-header.js';
import { noteCaller } from './request-notes.js';
import type { V2Route } from './v2-paths.js';

/** The token endpoint a request's client should use. */
export function realmFor(auth: AuthService, req: FastifyRequest): string {
  return auth.settings.realm ?? `${req.protocol}://${requestHost(req)}/token`;
}

/** Sets the `WWW-Authenticate` challenge of the Docker token flow. */
export function challenge(
  auth: AuthService,
  req: FastifyRequest,
  reply: FastifyReply,
  scope?: string,
  insufficientScope = false,
): void {
  let value = `Bearer realm="${realmFor(auth, req)}",service="${auth.settings.service}"`;
  if (scope) value += `,scope="${scope}"`;
  if (insufficientScope) value += ',error="insufficient_scope"';
  reply.header('WWW-Authenticate', value);
}

/** The client's address as the audit log records it. */
export function clientAddress(req: FastifyRequest): string {
  return req.ip;
}

/**
 * The caller of `req` where `audience` tokens are valid (registry tokens on /v2 and the trust
 * service, management sessions on /api/v1); bad credentials answer 401 with a challenge.
 */
export async function identifyCaller(
  auth: AuthService,
  req: FastifyRequest,
  reply: FastifyReply,
  audience: TokenAudience = 'registry',
): Promise<Caller> {
  const header = req.headers.authorization;
  try {
    // A bearer token seen before is answered without waiting: the hot path of every request.
    return noteCaller(
      req,
      auth.requests.identifyCached(header, audience) ??
        (await auth.requests.identify(header, clientAddress(req), audience)),
    );
  } catch (err) {
    if (err instanceof BerthError && err.code === 'UNAUTHORIZED') challenge(auth, req, reply);
    throw err;
  }
}

/**
 * The repository action a registry API request needs, or undefined for base and catalog. An
 * upload's status is read with `pull`; cancelling it takes `push` (or `delete`, see `authorizeV2`).
 */
export function actionFor(route: V2Route, method: string): RepositoryAction | undefined {
  switch (route.kind) {
    case 'base':
    case 'catalog':
      return undefined;
    case 'manifest':
      if (method === 'PUT') return 'push';
      return method === 'DELETE' ? 'delete' : 'pull';
    case 'blob':
      return method === 'DELETE' ? 'delete' : 'pull';
    case 'uploads':
      return 'push';
    case 'upload':
      return method === 'GET' || method === 'HEAD' ? 'pull' : 'push';
    case 'tags':
    case 'referrers':
      return 'pull';
  }
}

function scopeActions(action: RepositoryAction): string {
  return action === 'pull' ? 'pull' : action === 'push' ? 'pull,push' : 'delete';
}

/**
 * The caller of a registry API request whose bearer token, verified before, grants what the
 * request needs: `authorizeV2`'s answer on the hot path, without waiting. Undefined otherwise (a
 * token not seen yet, another credential, a refusal, a push that first prepares its repository,
 * base and catalog): ask `authorizeV2`.
 */
export function authorizeV2Cached(
  auth: AuthService,
  req: FastifyRequest,
  route: V2Route,
): Caller | undefined {
  if (!('name' in route)) return undefined;
  const action = actionFor(route, req.method);
  if (action === undefined || (action === 'push' && route.kind !== 'upload')) return undefined;
  let caller: Caller | undefined;
  try {
    caller = auth.requests.identifyCached(req.headers.authorization, 'registry');
  } catch {
    // A known token refused (revoked, another audience): `authorizeV2` answers with a challenge.
    return undefined;
  }
  if (!caller || !auth.requests.tokenGrants(caller, route.name, action)) return undefined;
  return noteCaller(req, caller);
}

/**
 * Checks a registry API request: answers 401 with a challenge to callers who must authenticate
 * (again), 403 DENIED with the reason to authenticated callers who may not. Returns the caller.
 */
export async function authorizeV2(
  auth: AuthService,
  req: FastifyRequest,
  reply: FastifyReply,
  route: V2Route,
): Promise<Caller> {
  const caller = await identifyCaller(auth, req, reply);
  const action = actionFor(route, req.method);
  if (action === undefined || !('name' in route)) {
    if (caller.via === 'none' && (route.kind === 'base' || !auth.settings.anonymousPull)) {
      challenge(auth, req, reply, route.kind === 'catalog' ? 'registry:catalog:*' : undefined);
      throw new BerthError('UNAUTHORIZED', 'authentication required');
    }
    return caller;
  }
  if (await auth.requests.may(caller, route.name, action)) {
    if (action === 'push' && route.kind !== 'upload')
      await auth.requests.prepareForPush(caller, route.name);
    return caller;
  }
  // Cancelling an upload is cleaning up: a `delete` grant does it as well as `push`.
  if (route.kind === 'upload' && req.method === 'DELETE')
    if (await auth.requests.may(caller, route.name, 'delete')) return caller;
  const refusal = await auth.requests.refusal(caller, route.name, action);
  challenge(
    auth,
    req,
    reply,
    `repository:${route.name}:${scopeActions(action)}`,
    refusal.insufficientScope,
  );
  throw new BerthError(refusal.status === 401 ? 'UNAUTHORIZED' : 'DENIED', refusal.message, {
    repository: route.name,
    action,
  });
}
