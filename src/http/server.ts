/** The HTTP server: Fastify set up for the registry API, health and metrics. */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AuditSink, AuthService } from '../auth/index.js';
import { requestIdFrom, type BerthMetrics, type Logger } from '../obs/index.js';
import type { Registry } from '../registry/index.js';
import type { TrustService } from '../trust/index.js';
import { configSchema, type BerthConfig } from '../config/index.js';
import { BerthError } from '../oci/index.js';
import { apiPrincipal } from './api-common.js';
import { answerClientError, guardRequests, limitConnections } from './edge-guards.js';
import { registerApiRoutes } from './api-routes.js';
import { ROUTER_OPTIONS } from './lazy-routes.js';
import { registerBuildHooks } from './api-builds.js';
import type { ManageServices } from '../manage/index.js';
import { handleError } from './error-mapping.js';
import { registerTokenRoutes } from './token-routes.js';
import { registerDockerSearch } from './search-routes.js';
import { registerWebUi } from './web-ui.js';
import type { AgentHub, ControlPlane } from '../cluster/index.js';
import type { CacheAdmin, ReplicationAdmin } from '../replication/index.js';
import { acceptAgents } from './cluster-socket.js';
import { registerClusterJoin } from './api-cluster.js';
import { routeKindOf, v2Handler } from './v2-router.js';
import { allowZeroCopySends, zeroCopyBytes } from './zero-copy.js';
import { deferredRequestLogger } from './request-logger.js';

/** What the HTTP server is built from. */
export interface HttpDeps {
  registry: Registry;
  /** The services the management API calls. */
  manage: ManageServices;
  metrics: BerthMetrics;
  logger: Logger;
  /** Access control; without it the registry is open to anyone (`auth.mode: none`). */
  auth?: AuthService;
  audit?: AuditSink;
  /** The Notary-compatible trust service and signed-tags policy. */
  trust?: TrustService;
  /** Upstreams and pull-through cache namespaces. */
  cacheAdmin?: CacheAdmin;
  /** Replication rules and executions. */
  replicationAdmin?: ReplicationAdmin;
  /** The control plane and the hub its agents connect to. */
  cluster?: { plane: ControlPlane; hub: AgentHub };
  /** Serve HTTPS with this certificate chain and key (PEM). */
  tls?: { cert: Buffer; key: Buffer };
  version: string;
  /** Bounds, trusted proxies and where metrics are served; the defaults when absent. */
  options?: HttpOptions;
}

/** The configuration the HTTP edge applies itself. */
export type HttpOptions = Pick<
  BerthConfig,
  'limits' | 'trustedProxies' | 'metrics' | 'domain' | 'storage'
>;

const DEFAULT_OPTIONS: HttpOptions = configSchema.parse({});

const V2_METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'] as const;

/** Builds the Fastify app (not yet listening). Bodies are never parsed by Fastify: handlers stream them. */
export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const { limits, trustedProxies, metrics, storage } = deps.options ?? DEFAULT_OPTIONS;
  allowZeroCopySends(storage.sendfile);
  deps.metrics.watchZeroCopySends(zeroCopyBytes);
  // Timeouts are checked every second, so a slow client is cut off close to its deadline.
  const timeouts = {
    headersTimeout: limits.headersTimeout * 1000,
    requestTimeout: 0,
    connectionsCheckingInterval: 1000,
  };
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: deferredRequestLogger,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    exposeHeadRoutes: false,
    keepAliveTimeout: 65_000,
    connectionTimeout: limits.idleTimeout * 1000,
    requestTimeout: 0,
    trustProxy: trustedProxies.length > 0 ? trustedProxies : false,
    routerOptions: { ...ROUTER_OPTIONS },
    http: timeouts,
    clientErrorHandler: answerClientError,
    ...(deps.tls ? { https: { ...timeouts, cert: deps.tls.cert, key: deps.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  const guards = {
    connectionsPerAddress: limits.connectionsPerAddress,
    bodyTimeout: limits.bodyTimeout,
    trustedProxies,
    tls: deps.tls !== undefined,
  };
  limitConnections(app.server, guards);
  guardRequests(app, guards, deps.audit);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  app.setErrorHandler(handleError);
  const webUi = registerWebUi(app);
  app.setNotFoundHandler((req, reply) => {
    if (webUi(req, reply)) return;
    reply
      .code(404)
      .header('Content-Type', 'application/json')
      .send(
        JSON.stringify({
          errors: [
            { code: 'NOT_FOUND', message: `nothing at ${req.url.slice(0, 200)}`, detail: {} },
          ],
        }),
      );
  });

  app.addHook('onResponse', (req, reply, done) => {
    const route = routeKindOf(req);
    deps.metrics.httpRequests.inc({ method: req.method, route, status: reply.statusCode });
    deps.metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    // One line per request only at debug level: at info, logging stays off the hot path.
    if (req.log.level === 'debug' || req.log.level === 'trace')
      req.log.debug(
        {
          method: req.method,
          url: req.url,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request',
      );
    done();
  });

  const v2 = v2Handler(
    deps.registry,
    deps.auth,
    deps.audit,
    deps.trust,
    { fileBytes: limits.trustFileBytes, totalBytes: limits.trustPublishBytes },
    deps.options?.domain,
  );
  const auth = deps.auth;
  if (auth) {
    void app.register(async (scope) => registerTokenRoutes(scope, auth));
    const builds = deps.manage.builds;
    if (builds) void app.register(async (scope) => registerBuildHooks(scope, builds));
    const cluster = deps.cluster;
    if (cluster) {
      void app.register(async (scope) => {
        scope.addContentTypeParser(
          'application/json',
          { parseAs: 'string', bodyLimit: 65_536 },
          (_req, body, done) => {
            try {
              done(null, JSON.parse(body as string));
            } catch (err) {
              done(err as Error, undefined);
            }
          },
        );
        registerClusterJoin(scope, cluster.plane);
      });
      acceptAgents(app, cluster.plane, cluster.hub);
    }
    void app.register(async (scope) =>
      registerApiRoutes(scope, auth, deps.version, { ...deps, domain: deps.options?.domain }),
    );
  }
  registerDockerSearch(app, deps.manage.catalog, deps.auth);
  app.route({ method: [...V2_METHODS], url: '/v2', handler: v2 });
  app.route({ method: [...V2_METHODS], url: '/v2/*', handler: v2 });

  app.get('/healthz', async (_req, reply) => {
    await deps.manage.system.health();
    reply.header('Content-Type', 'application/json').send('{"status":"ok"}');
  });
  app.get('/_notary_server/health', async (_req, reply) => {
    await deps.manage.system.health();
    reply.header('Content-Type', 'application/json').send('{}');
  });
  if (!metrics.listen) registerMetrics(app, deps, metrics.auth);
  return app;
}

/** Serves `/metrics`, open or (`admin`) to administrators' credentials only. */
function registerMetrics(app: FastifyInstance, deps: HttpDeps, auth: 'none' | 'admin'): void {
  app.get('/metrics', async (req, reply) => {
    if (auth === 'admin' && deps.auth) {
      const principal = await apiPrincipal(deps.auth, req, reply);
      if (principal.kind !== 'user' || !principal.admin) {
        reply.header('WWW-Authenticate', `Basic realm="${deps.auth.settings.service}"`);
        throw new BerthError(
          principal.kind === 'user' ? 'DENIED' : 'UNAUTHORIZED',
          'metrics are for administrators',
        );
      }
    }
    reply
      .header('Content-Type', deps.metrics.registry.contentType)
      .send(await deps.metrics.registry.metrics());
  });
}

/**
 * The separate metrics listener (`metrics.listen`): `/metrics` alone, with the same credential
 * rule as on the main listener.
 */
export function buildMetricsServer(deps: HttpDeps): FastifyInstance {
  const { metrics } = deps.options ?? DEFAULT_OPTIONS;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
  app.setErrorHandler(handleError);
  registerMetrics(app, deps, metrics.auth);
  return app;
}
