/**
 * Management API for browsing images: the repository catalog with figures (sort, filter, search,
 * pages), a repository's tags with size, platforms, pusher, last pull and signature, a manifest in
 * full (config, layers with history, platforms, referrers), and deleting a tag.
 */
import type { AuthService } from '../auth/index.js';
import type { RouteTable } from './lazy-routes.js';
import { CATALOG_SORTS, type CatalogService, type CatalogSort } from '../manage/index.js';
import { BerthError } from '../oci/index.js';
import {
  apiActor,
  apiPrincipal,
  intQuery,
  json,
  noContent,
  param,
  queryParam,
} from './api-common.js';
import { searchQuery } from './search-routes.js';
import { changeContext } from './v2-router.js';

/** Registers the catalog, search, tag and manifest routes of /api/v1. */
export function registerCatalogRoutes(
  app: RouteTable,
  auth: AuthService,
  catalog: CatalogService,
  domain?: string,
): void {
  app.get('/api/v1/catalog', async (req, reply) => {
    const principal = await apiPrincipal(auth, req, reply);
    const sortText = queryParam(req, 'sort');
    const sort = (sortText ?? 'name') as CatalogSort;
    if (!CATALOG_SORTS.includes(sort))
      throw new BerthError('INVALID_REQUEST', `sort must be one of ${CATALOG_SORTS.join(', ')}`);
    const order = queryParam(req, 'order') ?? (sort === 'name' ? 'asc' : 'desc');
    if (order !== 'asc' && order !== 'desc')
      throw new BerthError('INVALID_REQUEST', 'order must be asc or desc');
    json(
      reply,
      await catalog.catalog(principal, {
        sort,
        sorted: sortText !== undefined,
        order,
        pageSize: intQuery(req, 'n', 50, 500),
        page: intQuery(req, 'page', 1, 1_000_000),
        q: queryParam(req, 'q'),
        namespace: queryParam(req, 'namespace'),
        visibility: queryParam(req, 'visibility'),
      }),
    );
  });

  app.get('/api/v1/search', async (req, reply) => {
    const principal = await apiPrincipal(auth, req, reply);
    json(reply, await catalog.search(searchQuery(req), principal));
  });

  app.route({
    method: ['GET', 'DELETE'],
    url: '/api/v1/images/*',
    handler: async (req, reply) => {
      const path = param(req, '*');
      const tags = /^(.+)\/tags(?:\/([^/]+))?$/.exec(path);
      const manifest = /^(.+)\/manifests\/([^/]+)$/.exec(path);
      const name = tags?.[1] ?? manifest?.[1] ?? '';
      if (req.method === 'DELETE') {
        const tag = tags?.[2];
        if (!tag) throw new BerthError('METHOD_UNKNOWN', 'DELETE needs a tag');
        const actor = await apiActor(auth, req, reply);
        const context = changeContext(req, actor.principal.name, domain);
        await catalog.deleteTag(actor, name, tag, context);
        return noContent(reply);
      }
      const principal = await apiPrincipal(auth, req, reply);
      if (manifest) return json(reply, await catalog.describe(principal, name, manifest[2]!));
      if (tags?.[2]) throw new BerthError('METHOD_UNKNOWN', 'GET a tag through manifests/<tag>');
      if (!tags) throw new BerthError('NOT_FOUND', 'no such image route');
      json(
        reply,
        await catalog.tags(principal, name, {
          limit: intQuery(req, 'n', 100, 1000),
          last: queryParam(req, 'last'),
        }),
      );
    },
  });
}
