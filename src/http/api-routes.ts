/**
 * The management API under /api/v1, in its own plugin scope with a JSON body parser: one Fastify
 * route over a table of the API's routes matched on first use (see lazy-routes).
 */
import type { FastifyInstance } from 'fastify';
import type { AuditSink, AuthService } from '../auth/index.js';
import type { Registry } from '../registry/index.js';
import type { TrustService } from '../trust/index.js';
import { registerTrustRoutes } from './api-trust.js';
import { registerCatalogRoutes } from './api-catalog.js';
import { registerSystemRoutes } from './api-system.js';
import { registerSessionRoutes } from './api-session.js';
import { registerAccountRoutes } from './api-accounts.js';
import { json } from './api-common.js';
import { LazyRouteTable, ROUTE_METHODS } from './lazy-routes.js';
import { openApiDocument } from './api-openapi.js';
import { registerRepositoryRoutes } from './api-repositories.js';
import { registerWebhookRoutes } from './api-webhooks.js';
import { registerBuildRoutes } from './api-builds.js';
import { registerIdentityRoutes } from './api-identity.js';
import { registerClusterRoutes } from './api-cluster.js';
import { registerCacheRoutes } from './api-cache.js';
import type { CacheAdmin, ReplicationAdmin } from '../replication/index.js';
import { registerReplicationRoutes } from './api-replication.js';
import { registerImmutableRoutes } from './api-immutable.js';
import { registerQuotaRoutes } from './api-quotas.js';
import { registerRetentionRoutes } from './api-retention.js';
import type { ControlPlane } from '../cluster/index.js';
import type { ManageServices } from '../manage/index.js';

/** Registers /api/v1 on `app` (call inside `app.register` so the JSON parser stays in this scope). */
export function registerApiRoutes(
  app: FastifyInstance,
  auth: AuthService,
  version: string,
  parts: {
    registry: Registry;
    manage: ManageServices;
    trust?: TrustService;
    audit?: AuditSink;
    domain?: string;
    cluster?: { plane: ControlPlane };
    cacheAdmin?: CacheAdmin;
    replicationAdmin?: ReplicationAdmin;
  },
): void {
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: 1_048_576 },
    (_req, body, done) => {
      try {
        done(null, body === '' ? {} : JSON.parse(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );
  const routes = new LazyRouteTable();
  app.route({
    method: [...ROUTE_METHODS],
    url: '/api/v1/*',
    onRequest: routes.match,
    handler: routes.dispatch,
  });
  // Described on first request (building it from the schemas takes tens of milliseconds).
  let doc: Record<string, unknown> | undefined;
  routes.get('/api/v1/openapi.json', async (_req, reply) =>
    json(reply, (doc ??= openApiDocument(version))),
  );
  // Deleting accounts and repositories changes what repository names and ids mean.
  const changed = (): void => parts.registry.repositoriesChanged();
  registerAccountRoutes(routes, auth, changed);
  const { webhooks, builds } = parts.manage;
  registerRepositoryRoutes(routes, auth, changed, webhooks, builds);
  if (webhooks) registerWebhookRoutes(routes, auth, webhooks);
  if (builds) registerBuildRoutes(routes, auth, builds);
  registerSessionRoutes(routes, auth);
  registerIdentityRoutes(routes, auth);
  registerCatalogRoutes(routes, auth, parts.manage.catalog, parts.domain);
  registerSystemRoutes(routes, auth, parts.manage.system);
  if (parts.trust) registerTrustRoutes(routes, auth, parts.trust, parts.registry, parts.audit);
  if (parts.cluster) registerClusterRoutes(routes, auth, parts.cluster.plane);
  if (parts.cacheAdmin) registerCacheRoutes(routes, auth, parts.cacheAdmin);
  if (parts.replicationAdmin) registerReplicationRoutes(routes, auth, parts.replicationAdmin);
  if (parts.manage.immutability) registerImmutableRoutes(routes, auth, parts.manage.immutability);
  if (parts.manage.quotas) registerQuotaRoutes(routes, auth, parts.manage.quotas);
  if (parts.manage.retention) registerRetentionRoutes(routes, auth, parts.manage.retention);
}
