/** Upstream registries and pull-through cache namespaces under /api/v1 (administrators). */
import { z } from 'zod';
import type { RouteTable } from './lazy-routes.js';
import type { AuthService } from '../auth/index.js';
import type { CacheAdmin } from '../replication/index.js';
import { apiActor, bodyOf, json, noContent, param } from './api-common.js';

/** An upstream registry. */
export const upstreamBody = z
  .object({
    urls: z.array(z.string().min(1).max(512)).min(1).max(10),
    username: z.string().min(1).max(256).nullable().optional(),
    password: z.string().min(1).max(4096).nullable().optional(),
    ca: z.string().includes('-----BEGIN CERTIFICATE-----').max(65_536).nullable().optional(),
    bandwidth: z.number().int().positive().nullable().optional(),
  })
  .strict();

/** A pull-through cache namespace. */
export const cacheNamespaceBody = z
  .object({
    upstream: z.string().min(1).max(32),
    upstreamPrefix: z.string().max(255).default(''),
    freshness: z.number().int().min(0).max(31_536_000).default(300),
    localFirst: z.boolean().default(false),
    mirror: z.boolean().default(false),
  })
  .strict();

/** Registers /api/v1/upstreams and /api/v1/cache/namespaces. */
export function registerCacheRoutes(app: RouteTable, auth: AuthService, cache: CacheAdmin): void {
  app.get('/api/v1/upstreams', async (req, reply) =>
    json(reply, await cache.upstreams(await apiActor(auth, req, reply))),
  );
  app.put('/api/v1/upstreams/:name', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    await cache.putUpstream(actor, param(req, 'name'), bodyOf(upstreamBody, req));
    noContent(reply);
  });
  app.delete('/api/v1/upstreams/:name', async (req, reply) => {
    await cache.removeUpstream(await apiActor(auth, req, reply), param(req, 'name'));
    noContent(reply);
  });
  app.post('/api/v1/upstreams/:name/test', async (req, reply) =>
    json(reply, await cache.testUpstream(await apiActor(auth, req, reply), param(req, 'name'))),
  );
  app.get('/api/v1/cache/namespaces', async (req, reply) =>
    json(reply, await cache.namespaces(await apiActor(auth, req, reply))),
  );
  app.put('/api/v1/cache/namespaces/:namespace', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    await cache.putNamespace(actor, param(req, 'namespace'), bodyOf(cacheNamespaceBody, req));
    noContent(reply);
  });
  app.delete('/api/v1/cache/namespaces/:namespace', async (req, reply) => {
    await cache.removeNamespace(await apiActor(auth, req, reply), param(req, 'namespace'));
    noContent(reply);
  });
}
