/** Dispatches `/v2/…` requests to their handlers by route kind and method. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BerthError } from '../oci/index.js';
import { principalName, type AuditSink, type AuthService } from '../auth/index.js';
import type { ChangeContext, PullThrough, Registry } from '../registry/index.js';
import { requestHost } from './host-header.js';
import { authorizeV2, authorizeV2Cached, clientAddress } from './auth-edge.js';
import { deleteBlob, getBlob } from './blob-handlers.js';
import type { V2Context } from './context.js';
import { listCatalog, listTags } from './listing-handlers.js';
import { deleteManifest, getManifest, getReferrers, putManifest } from './manifest-handlers.js';
import { deleteUpload, getUpload, patchUpload, postUploads, putUpload } from './upload-handlers.js';
import { parseV2Path, type V2Route } from './v2-paths.js';
import { handleTrust } from './trust-handlers.js';
import type { PublishLimits } from './multipart-files.js';
import { isTrustPath } from './trust-paths.js';
import type { TrustService } from '../trust/index.js';

/** The route kind of a request, kept for metrics and logs. */
export const ROUTE_KIND = Symbol('berth.routeKind');

type Tagged = FastifyRequest & { [ROUTE_KIND]?: string };

function methodNotAllowed(method: string, kind: string): never {
  throw new BerthError('METHOD_UNKNOWN', `${method} is not supported on ${kind}`);
}

async function dispatch(ctx: V2Context, method: string): Promise<void> {
  const { route } = ctx;
  const head = method === 'HEAD';
  switch (route.kind) {
    case 'base':
      if (method !== 'GET' && !head) methodNotAllowed(method, 'the API root');
      return ctx.reply.code(200).header('Content-Type', 'application/json').send('{}');
    case 'catalog':
      if (method !== 'GET') methodNotAllowed(method, 'the catalog');
      return listCatalog(ctx);
    case 'tags':
      if (method !== 'GET') methodNotAllowed(method, 'tag lists');
      return listTags({ ...ctx, route });
    case 'referrers':
      if (method !== 'GET') methodNotAllowed(method, 'referrers');
      return getReferrers({ ...ctx, route });
    case 'manifest':
      if (method === 'GET' || head) return getManifest({ ...ctx, route }, head);
      if (method === 'PUT') return putManifest({ ...ctx, route });
      if (method === 'DELETE') return deleteManifest({ ...ctx, route });
      return methodNotAllowed(method, 'manifests');
    case 'blob':
      if (method === 'GET' || head) return getBlob({ ...ctx, route }, head);
      if (method === 'DELETE') return deleteBlob({ ...ctx, route });
      return methodNotAllowed(method, 'blobs');
    case 'uploads':
      if (method === 'POST') return postUploads({ ...ctx, route });
      return methodNotAllowed(method, 'uploads');
    case 'upload':
      return dispatchUpload({ ...ctx, route }, method);
  }
}

function dispatchUpload(
  ctx: V2Context<Extract<V2Route, { kind: 'upload' }>>,
  method: string,
): Promise<void> {
  switch (method) {
    case 'PATCH':
      return patchUpload(ctx);
    case 'PUT':
      return putUpload(ctx);
    case 'GET':
    case 'HEAD':
      return getUpload(ctx);
    case 'DELETE':
      return deleteUpload(ctx);
    default:
      return methodNotAllowed(method, 'upload sessions');
  }
}

const everything = (names: string[]): Promise<string[]> => Promise.resolve(names);

/**
 * The route as the pull-through cache sees it: reads of a name a mirror namespace answers for go
 * to the cached repository; writes to a cached repository are refused (it mirrors its upstream).
 */
function cachedRoute(
  registry: Registry,
  route: V2Route,
  method: string,
): V2Route | Promise<V2Route> {
  const cache = registry.pullThrough;
  if (!cache || !('name' in route)) return route;
  const reading = method === 'GET' || method === 'HEAD';
  const writing = !reading || route.kind === 'upload' || route.kind === 'uploads';
  // The common case, answered without waiting: a read of a name no cache namespace touches.
  if (!writing && cache.readsLocally(route.name)) return route;
  return routeThroughCache(cache, route, writing);
}

async function routeThroughCache(
  cache: PullThrough,
  route: Extract<V2Route, { name: string }>,
  writing: boolean,
): Promise<V2Route> {
  if (writing) {
    if (await cache.covers(route.name))
      throw new BerthError(
        'DENIED',
        `${route.name} is in a pull-through cache namespace: it mirrors its upstream and takes no pushes`,
      );
    return route;
  }
  if (route.kind === 'manifest' || route.kind === 'blob' || route.kind === 'tags')
    return { ...route, name: await cache.localName(route.name) };
  return route;
}

/** Who makes a change through `req`, from where, and under which registry name. */
export function changeContext(
  req: FastifyRequest,
  actor: string | null,
  domain: string | undefined,
): ChangeContext {
  const agent = req.headers['user-agent'];
  const registry = domain ?? requestHost(req);
  return {
    actor,
    address: clientAddress(req),
    userAgent: typeof agent === 'string' ? agent.slice(0, 200) : null,
    registry,
    origin: `${req.protocol}://${registry}`,
  };
}

/** The Fastify handler for every `/v2` request; with `auth`, each request is authorised first. */
export function v2Handler(
  registry: Registry,
  auth?: AuthService,
  audit?: AuditSink,
  trust?: TrustService,
  publishLimits: PublishLimits = { fileBytes: 8 << 20, totalBytes: 32 << 20 },
  domain?: string,
) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.header('Docker-Distribution-Api-Version', 'registry/2.0');
    const url = req.raw.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    if (trust && isTrustPath(pathname)) {
      (req as Tagged)[ROUTE_KIND] = 'trust';
      return handleTrust(trust, auth, audit, req, reply, pathname, query, publishLimits);
    }
    const routing = cachedRoute(registry, parseV2Path(pathname), req.method);
    const route = routing instanceof Promise ? await routing : routing;
    (req as Tagged)[ROUTE_KIND] = route.kind;
    if (!auth) {
      const ctx = {
        req,
        reply,
        route,
        query,
        registry,
        canRead: () => true,
        visible: everything,
        change: changeContext(req, null, domain),
      };
      return dispatch(ctx, req.method);
    }
    const caller =
      authorizeV2Cached(auth, req, route) ?? (await authorizeV2(auth, req, reply, route));
    await dispatch(
      {
        req,
        reply,
        route,
        query,
        registry,
        canRead: (name) => auth.requests.mayRead(caller, name),
        visible: (names) => auth.requests.visible(caller, names),
        actor: principalName(caller.principal),
        change: changeContext(req, principalName(caller.principal), domain),
      },
      req.method,
    );
  };
}

/** The route kind recorded on a request, or 'other'. */
export function routeKindOf(req: FastifyRequest): string {
  return (req as Tagged)[ROUTE_KIND] ?? 'other';
}
