/**
 * Repository search, shared by `docker search` (the v1 `/v1/search` shape the Docker engine
 * reads, after its `/v1/_ping`) and the web UI (`/api/v1/search`): name and description, ranked,
 * only what the caller may see.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService, Principal } from '../auth/index.js';
import { ANONYMOUS } from '../auth/index.js';
import type { Meta, RepositoryInfo } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { rankRepositories } from '../registry/index.js';
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

function positive(value: string | null, fallback: number, max: number, name: string): number {
  if (value === null || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new BerthError('INVALID_REQUEST', `${name} must be an integer from 1 to ${max}`);
  return n;
}

/** Searches what `principal` may see: `q` words, page `page` of `n`. */
export async function searchRepositories(
  meta: Meta,
  auth: AuthService | undefined,
  principal: Principal,
  query: URLSearchParams,
): Promise<SearchPage> {
  const q = (query.get('q') ?? '').trim().slice(0, 200);
  const pageSize = positive(query.get('n'), 25, 100, 'n');
  const page = positive(query.get('page'), 1, 100_000, 'page');
  let ranked = rankRepositories(await meta.repositories.all(), q);
  if (auth) {
    const visible = new Set(
      await auth.requests.visible(
        { principal, via: 'basic' },
        ranked.map((r) => r.name),
      ),
    );
    ranked = ranked.filter((r) => visible.has(r.name));
  }
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

function queryOf(req: FastifyRequest): URLSearchParams {
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
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
      queryOf(req),
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
