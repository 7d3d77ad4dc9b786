/** The Notary v1 API under `/v2/<gun>/_trust/`: metadata reads, keys, publish, delete, changefeed. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  actsAsAdmin,
  principalName,
  type AuditSink,
  type AuthService,
  type Caller,
} from '../auth/index.js';
import { BerthError } from '../oci/index.js';
import type { TrustService } from '../trust/index.js';
import { challenge, clientAddress, identifyCaller } from './auth-edge.js';
import { requestHost } from './host-header.js';
import { readMetadataParts, type PublishLimits } from './multipart-files.js';
import { parseTrustPath, type TrustRoute } from './trust-paths.js';
import type { TrustFileRecord } from '../trust/index.js';

type Action = 'pull' | 'push' | 'delete';

const CURRENT_CACHE = 'public, max-age=300, s-maxage=300, must-revalidate';
const IMMUTABLE_CACHE = 'public, max-age=2592000, s-maxage=2592000';

/** What a trust request needs, as notary-server checks it; undefined: the method is not served. */
function actionFor(route: TrustRoute, method: string): Action | undefined {
  switch (route.kind) {
    case 'changefeed':
      return method === 'GET' ? (route.gun ? 'pull' : 'delete') : undefined;
    case 'repository':
      return method === 'POST' ? 'push' : method === 'DELETE' ? 'delete' : undefined;
    case 'key':
      return method === 'GET' ? 'push' : method === 'POST' ? 'delete' : undefined;
    default:
      return method === 'GET' ? 'pull' : undefined;
  }
}

function scopeActions(action: Action): string {
  return action === 'pull' ? 'pull' : action === 'push' ? 'push,pull' : '*';
}

async function authorize(
  auth: AuthService,
  trust: TrustService,
  req: FastifyRequest,
  reply: FastifyReply,
  route: TrustRoute,
  action: Action,
): Promise<Caller> {
  const caller = await identifyCaller(auth, req, reply);
  const gun = 'gun' in route ? route.gun : undefined;
  let allowed: boolean;
  if (gun === undefined) {
    allowed = actsAsAdmin(caller.principal);
  } else {
    const repository = trust.repositoryOf(gun);
    allowed = await auth.requests.mayTrust(caller, gun, repository, action);
    if (allowed && action === 'push')
      allowed = await auth.requests.mayTrust(caller, gun, repository, 'pull');
  }
  if (allowed) return caller;
  const scope =
    gun === undefined ? 'registry:catalog:*' : `repository:${gun}:${scopeActions(action)}`;
  challenge(auth, req, reply, scope, caller.via !== 'none');
  throw new BerthError(
    'UNAUTHORIZED',
    caller.via === 'none'
      ? 'authentication required'
      : `${principalName(caller.principal) ?? 'this caller'} may not ${action} trust data of ${gun ?? 'every repository'}`,
    [{ Type: gun ? 'repository' : 'registry', Class: '', Name: gun ?? 'catalog', Action: action }],
  );
}

/**
 * Every request names its repository's one GUN; the first root of a GUN (a publish that creates
 * its trust data) needs admin rights on the repository.
 */
async function checkGun(
  trust: TrustService,
  auth: AuthService | undefined,
  req: FastifyRequest,
  route: TrustRoute,
  caller: Caller | undefined,
  gun: string,
): Promise<void> {
  const writes = req.method !== 'GET';
  const repository = await trust.requireOwnGun(
    gun,
    requestHost(req),
    writes ? 'INVALID_UPDATE' : 'METADATA_NOT_FOUND',
  );
  if (!auth || !caller || route.kind !== 'repository' || req.method !== 'POST') return;
  if (!(await trust.isNew(gun))) return;
  if (!(await auth.requests.mayAdminister(caller.principal, repository)))
    throw new BerthError(
      'DENIED',
      `creating the trust data of ${repository} needs admin rights on it`,
    );
}

function sendFile(reply: FastifyReply, file: TrustFileRecord | undefined, cache: string): void {
  if (!file) throw new BerthError('METADATA_NOT_FOUND');
  reply
    .code(200)
    .header('Content-Type', 'application/json')
    .header('Cache-Control', cache)
    .header('Last-Modified', new Date(file.createdAt).toUTCString())
    .send(file.content);
}

async function serveRoute(
  trust: TrustService,
  limits: PublishLimits,
  req: FastifyRequest,
  reply: FastifyReply,
  route: TrustRoute,
  query: URLSearchParams,
): Promise<void> {
  switch (route.kind) {
    case 'current':
      return sendFile(reply, await trust.current(route.gun, route.role), CURRENT_CACHE);
    case 'checksum':
      return sendFile(
        reply,
        await trust.byChecksum(route.gun, route.role, route.checksum),
        IMMUTABLE_CACHE,
      );
    case 'version':
      return sendFile(
        reply,
        await trust.byVersion(route.gun, route.role, route.version),
        IMMUTABLE_CACHE,
      );
    case 'key': {
      const key =
        req.method === 'POST'
          ? await trust.rotateKey(route.gun, route.role)
          : await trust.publicKey(route.gun, route.role);
      return reply.code(200).header('Content-Type', 'application/json').send(JSON.stringify(key));
    }
    case 'repository':
      if (req.method === 'POST')
        await trust.publish(route.gun, await readMetadataParts(req.raw, limits));
      else await trust.delete(route.gun);
      return reply.code(200).header('Content-Length', '0').send();
    case 'changefeed': {
      const feed = await trust.changefeed(route.gun, query.get('change_id'), query.get('records'));
      return reply.code(200).header('Content-Type', 'application/json').send(JSON.stringify(feed));
    }
  }
}

function auditTrust(
  audit: AuditSink,
  req: FastifyRequest,
  route: TrustRoute,
  caller: Caller | undefined,
  status: number,
  error?: string,
): void {
  const action =
    route.kind === 'repository'
      ? req.method === 'POST'
        ? 'trust.publish'
        : 'trust.delete'
      : route.kind === 'key' && req.method === 'POST'
        ? 'trust.rotate-key'
        : undefined;
  if (!action || !('gun' in route)) return;
  void audit.record({
    actor: caller ? principalName(caller.principal) : null,
    action,
    target: route.gun,
    outcome: status < 300 ? 'success' : 'failure',
    address: clientAddress(req),
    detail: {
      ...(route.kind === 'key' ? { role: route.role } : { status }),
      ...(error ? { error } : {}),
    },
  });
}

/** Answers a request under `/v2/…/_trust/`; with `auth`, each request is authorised first. */
export async function handleTrust(
  trust: TrustService,
  auth: AuthService | undefined,
  audit: AuditSink | undefined,
  req: FastifyRequest,
  reply: FastifyReply,
  pathname: string,
  query: URLSearchParams,
  limits: PublishLimits,
): Promise<void> {
  const route = parseTrustPath(pathname);
  const action = actionFor(route, req.method);
  if (!action) throw new BerthError('METADATA_NOT_FOUND');
  const caller = auth ? await authorize(auth, trust, req, reply, route, action) : undefined;
  try {
    if ('gun' in route && route.gun !== undefined)
      await checkGun(trust, auth, req, route, caller, route.gun);
    await serveRoute(trust, limits, req, reply, route, query);
    if (audit) auditTrust(audit, req, route, caller, 200);
  } catch (err) {
    if (audit)
      auditTrust(
        audit,
        req,
        route,
        caller,
        err instanceof BerthError ? err.status : 500,
        (err as Error).message,
      );
    throw err;
  }
}
