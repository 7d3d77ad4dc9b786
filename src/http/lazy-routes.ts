/**
 * Routes collected while the server starts and matched only once one is asked for. Registering
 * the management API's hundred-odd routes with Fastify cost 22–28 ms of every start (its
 * per-route context and router tree, built cold before the first `/v2/` request is answered);
 * they are collected here instead, behind one Fastify route, and put in a router of their own —
 * find-my-way, with the options Fastify's router has — when the API is first called.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';

/** A route's handler, as Fastify calls it (what it returns is Fastify's to send). */
export type RouteHandler = (req: FastifyRequest, reply: FastifyReply) => unknown;

/** The HTTP methods the management API answers. */
export const ROUTE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type RouteMethod = (typeof ROUTE_METHODS)[number];

/** Where routes are registered: the part of Fastify's instance the API's modules use. */
export interface RouteTable {
  get(url: string, handler: RouteHandler): void;
  post(url: string, handler: RouteHandler): void;
  put(url: string, handler: RouteHandler): void;
  patch(url: string, handler: RouteHandler): void;
  delete(url: string, handler: RouteHandler): void;
  route(options: { method: RouteMethod[]; url: string; handler: RouteHandler }): void;
}

/** The router options of Berth's Fastify server and of the table, so a URL matches alike in both. */
export const ROUTER_OPTIONS = { ignoreTrailingSlash: false, maxParamLength: 1000 };

/** A route table matched by a router built on its first lookup. */
export class LazyRouteTable implements RouteTable {
  private readonly pending: { methods: RouteMethod[]; url: string; handler: RouteHandler }[] = [];
  private router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1> | undefined;
  private readonly matched = new WeakMap<
    FastifyRequest,
    FindMyWay.FindResult<FindMyWay.HTTPVersion.V1>
  >();

  get(url: string, handler: RouteHandler): void {
    this.add(['GET'], url, handler);
  }

  post(url: string, handler: RouteHandler): void {
    this.add(['POST'], url, handler);
  }

  put(url: string, handler: RouteHandler): void {
    this.add(['PUT'], url, handler);
  }

  patch(url: string, handler: RouteHandler): void {
    this.add(['PATCH'], url, handler);
  }

  delete(url: string, handler: RouteHandler): void {
    this.add(['DELETE'], url, handler);
  }

  route(options: { method: RouteMethod[]; url: string; handler: RouteHandler }): void {
    this.add(options.method, options.url, options.handler);
  }

  /**
   * The `onRequest` hook of the Fastify route over the table: finds the route `req` matches, or
   * gives it Fastify's not-found answer before any body is read (as Fastify does for a URL no
   * route of its own matches).
   */
  readonly match = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const found = this.built().find(req.method as RouteMethod, req.url);
    if (!found) {
      reply.callNotFound();
      return;
    }
    this.matched.set(req, found);
    done();
  };

  /**
   * The Fastify route's handler: runs the handler of the route `match` found for `req`, with its
   * path parameters as `req.params`, and returns what it returns.
   */
  readonly dispatch = (req: FastifyRequest, reply: FastifyReply): unknown => {
    const found = this.matched.get(req) ?? this.built().find(req.method as RouteMethod, req.url);
    if (!found) {
      reply.callNotFound();
      return reply;
    }
    (req as { params: unknown }).params = found.params;
    return (found.store as RouteHandler)(req, reply);
  };

  private add(methods: RouteMethod[], url: string, handler: RouteHandler): void {
    if (this.router) throw new Error(`route ${url} added after the table was first used`);
    this.pending.push({ methods, url, handler });
  }

  private built(): FindMyWay.Instance<FindMyWay.HTTPVersion.V1> {
    if (!this.router) {
      const router = FindMyWay(ROUTER_OPTIONS);
      for (const r of this.pending) router.on(r.methods, r.url, () => undefined, r.handler);
      this.router = router;
    }
    return this.router;
  }
}
