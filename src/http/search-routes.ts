/**
 * Repository search, shared by `docker search` (the v1 `/v1/search` shape the Docker engine
 * reads, after its `/v1/_ping`) and the web UI (`/api/v1/search`): name and description, ranked,
 * only what the caller may see.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService, Principal } from '../auth/index.js';
import { ANONYMOUS } from '../auth/index.js';
import type { Meta, RepositoryInfo } from '../meta/index.js';
import { rankRepositories } from '../registry/index.js';
import { intQuery, queryParam } from './api-common.js';
import { identifyCaller } from './auth-edge.js';

/** One page of search results. */
export interface SearchPage {
  query: string;
  total: number;
  page: number;
  pageSize: number;
  pages: number;
  results: RepositoryInfo[];
}

/** What a search asks for: `q` words, page `page` of `pageSize`. */
export interface SearchQuery {
  q: string;
  page: number;
  pageSize: number;
}

/** The search a request's `q`, `n` and `page` ask for (as docker and the UI send them). */
export function searchQuery(req: FastifyRequest): SearchQuery {
  return {
    q: (queryParam(req, 'q') ?? '').trim().slice(0, 200),
    pageSize: intQuery(req, 'n', 25, 100),
    page: intQuery(req, 'page', 1, 100_000),
  };
}

/** Every repository `principal` may see (all of them without auth), by name. */
export async function visibleRepositories(
  meta: Meta,
  auth: AuthService | undefined,
  principal: Principal,
): Promise<RepositoryInfo[]> {
  const all = await meta.repositories.all();
  if (!auth) return all;
  const names = all.map((r) => r.name);
  const visible = new Set(await auth.requests.visible({ principal, via: 'basic' }, names));
  return all.filter((r) => visible.has(r.name));
}

/** Searches what `principal` may see. */
export async function searchRepositories(
  meta: Meta,
  auth: AuthService | undefined,
  principal: Principal,
  { q, page, pageSize }: SearchQuery,
): Promise<SearchPage> {
  const ranked = rankRepositories(await visibleRepositories(meta, auth, principal), q);
  return {
    query: q,
    total: ranked.length,
    page,
    pageSize,
    pages: Math.max(1, Math.ceil(ranked.length / pageSize)),
    results: ranked.slice((page - 1) * pageSize, page * pageSize),
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
  meta: Meta,
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
    const found = await searchRepositories(
      meta,
      auth,
      await callerOf(auth, req, reply),
      searchQuery(req),
    );
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
