/**
 * Repository search, shared by `docker search` (the v1 `/v1/search` shape the Docker engine
 * reads, after its `/v1/_ping`) and the web UI (`/api/v1/search`): name and description, ranked,
 * only what the caller may see.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService, Principal } from '../auth/index.js';
import { ANONYMOUS } from '../auth/index.js';
import type { CatalogService, SearchQuery } from '../manage/index.js';
import { intQuery, queryParam } from './api-common.js';
import { identifyCaller } from './auth-edge.js';

/** The search a request's `q`, `n` and `page` ask for (as docker and the UI send them). */
export function searchQuery(req: FastifyRequest): SearchQuery {
  return {
    q: (queryParam(req, 'q') ?? '').trim().slice(0, 200),
    pageSize: intQuery(req, 'n', 25, 100),
    page: intQuery(req, 'page', 1, 100_000),
  };
}

async function callerOf(
  auth: AuthService | undefined,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Principal> {
  if (!auth) return ANONYMOUS;
  return (await identifyCaller(auth, req, reply)).principal;
}

/** Registers `/v1/_ping` and `/v1/search` (docker search). */
export function registerDockerSearch(
  app: FastifyInstance,
  catalog: CatalogService,
  auth: AuthService | undefined,
): void {
  app.get('/v1/_ping', async (_req, reply) => {
    reply
      .header('X-Docker-Registry-Version', '0.6.0')
      .header('X-Docker-Registry-Standalone', 'true')
      .header('Content-Type', 'application/json')
      .send('true');
  });
  app.get('/v1/search', async (req, reply) => {
    const found = await catalog.search(searchQuery(req), await callerOf(auth, req, reply));
    reply.header('Content-Type', 'application/json').send(
      JSON.stringify({
        query: found.query,
        num_results: found.total,
        num_pages: found.pages,
        page: found.page,
        page_size: found.pageSize,
        results: found.results.map((r) => ({
          name: r.name,
          description: r.description ?? '',
          star_count: 0,
          is_official: false,
          is_automated: false,
          is_trusted: false,
        })),
      }),
    );
  });
}
