/**
 * Management API for browsing images: the repository catalog with figures (sort, filter, search,
 * pages), a repository's tags with size, platforms, pusher, last pull and signature, a manifest in
 * full (config, layers with history, platforms, referrers), and deleting a tag.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditSink, AuthService } from '../auth/index.js';
import type { Meta, RepositoryInfo, RepositoryStats } from '../meta/index.js';
import { BerthError, isValidName } from '../oci/index.js';
import { rankRepositories, type Registry, type TagSummary } from '../registry/index.js';
import type { TrustService } from '../trust/index.js';
import {
  apiActor,
  apiPrincipal,
  intQuery,
  json,
  noContent,
  param,
  queryParam,
} from './api-common.js';
import { clientAddress } from './auth-edge.js';
import { searchQuery, searchRepositories, visibleRepositories } from './search-routes.js';

const SORTS = ['name', 'pushed', 'size', 'pulls'] as const;
type Sort = (typeof SORTS)[number];

/** A repository in listings. */
interface CatalogEntry {
  name: string;
  namespace: string | null;
  visibility: string;
  description: string | null;
  createdBy: string | null;
  createdAt: string;
  size: number;
  tags: number;
  pushedAt: string | null;
  pulls: number;
  lastPulledAt: string | null;
}

function entryOf(info: RepositoryInfo, stats: RepositoryStats | undefined): CatalogEntry {
  const slash = info.name.indexOf('/');
  return {
    name: info.name,
    namespace: slash < 0 ? null : info.name.slice(0, slash),
    visibility: info.visibility,
    description: info.description,
    createdBy: info.createdBy,
    createdAt: new Date(info.createdAt).toISOString(),
    size: stats?.size ?? 0,
    tags: stats?.tags ?? 0,
    pushedAt: stats?.pushedAt ? new Date(stats.pushedAt).toISOString() : null,
    pulls: stats?.pulls ?? 0,
    lastPulledAt: stats?.lastPulledAt ? new Date(stats.lastPulledAt).toISOString() : null,
  };
}

function compare(sort: Sort, a: CatalogEntry, b: CatalogEntry): number {
  switch (sort) {
    case 'name':
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    case 'pushed':
      return (a.pushedAt ?? '').localeCompare(b.pushedAt ?? '');
    case 'size':
      return a.size - b.size;
    case 'pulls':
      return a.pulls - b.pulls;
  }
}

/** Registers the catalog, search, tag and manifest routes of /api/v1. */
export function registerCatalogRoutes(
  app: FastifyInstance,
  auth: AuthService,
  parts: { meta: Meta; registry: Registry; trust?: TrustService; audit?: AuditSink },
): void {
  const { meta, registry, trust, audit } = parts;

  app.get('/api/v1/catalog', async (req, reply) => {
    const principal = await apiPrincipal(auth, req, reply);
    const sortText = queryParam(req, 'sort') ?? 'name';
    if (!SORTS.includes(sortText as Sort))
      throw new BerthError('INVALID_REQUEST', `sort must be one of ${SORTS.join(', ')}`);
    const sort = sortText as Sort;
    const order = queryParam(req, 'order') ?? (sort === 'name' ? 'asc' : 'desc');
    if (order !== 'asc' && order !== 'desc')
      throw new BerthError('INVALID_REQUEST', 'order must be asc or desc');
    const pageSize = intQuery(req, 'n', 50, 500);
    const page = intQuery(req, 'page', 1, 1_000_000);
    const q = queryParam(req, 'q');
    const namespace = queryParam(req, 'namespace');
    const visibility = queryParam(req, 'visibility');
    let infos = await visibleRepositories(meta, auth, principal);
    const namespaces = [
      ...new Set(infos.filter((i) => i.name.includes('/')).map((i) => i.name.split('/')[0]!)),
    ].sort();
    if (namespace) infos = infos.filter((i) => i.name.startsWith(`${namespace}/`));
    if (visibility) infos = infos.filter((i) => i.visibility === visibility);
    if (q) infos = rankRepositories(infos, q);
    const stats = await meta.catalog.stats();
    const entries = infos.map((i) => entryOf(i, stats.get(i.id)));
    if (!q || queryParam(req, 'sort')) {
      const sign = order === 'asc' ? 1 : -1;
      entries.sort((a, b) => sign * compare(sort, a, b) || (a.name < b.name ? -1 : 1));
    }
    json(reply, {
      total: entries.length,
      page,
      pageSize,
      pages: Math.max(1, Math.ceil(entries.length / pageSize)),
      namespaces,
      repositories: entries.slice((page - 1) * pageSize, page * pageSize),
    });
  });

  app.get('/api/v1/search', async (req, reply) => {
    const principal = await apiPrincipal(auth, req, reply);
    const found = await searchRepositories(meta, auth, principal, searchQuery(req));
    const stats = await meta.catalog.stats();
    json(reply, { ...found, results: found.results.map((r) => entryOf(r, stats.get(r.id))) });
  });

  app.route({
    method: ['GET', 'DELETE'],
    url: '/api/v1/images/*',
    handler: async (req, reply) => {
      const path = param(req, '*');
      const tags = /^(.+)\/tags(?:\/([^/]+))?$/.exec(path);
      const manifest = /^(.+)\/manifests\/([^/]+)$/.exec(path);
      const name = tags?.[1] ?? manifest?.[1] ?? '';
      if (!isValidName(name)) throw new BerthError('NOT_FOUND', 'no such image route');
      const principal = await apiPrincipal(auth, req, reply);
      const caller = { principal, via: 'basic' as const };
      if (!(await auth.requests.mayRead(caller, name)))
        throw new BerthError('NOT_FOUND', `no repository ${name} (or it is private)`);
      if (req.method === 'DELETE') {
        const tag = tags?.[2];
        if (!tag) throw new BerthError('METHOD_UNKNOWN', 'DELETE needs a tag');
        const actor = await apiActor(auth, req, reply);
        if (!(await auth.requests.may(caller, name, 'delete')))
          throw new BerthError('DENIED', `deleting tags of ${name} needs admin rights on it`);
        await registry.manifests.delete(name, tag, {
          actor: actor.principal.name,
          address: clientAddress(req),
        });
        await audit?.record({
          actor: actor.principal.name,
          action: 'tag.delete',
          target: name,
          outcome: 'success',
          address: clientAddress(req),
          detail: { tag },
        });
        return noContent(reply);
      }
      if (manifest) return json(reply, await registry.details.describe(name, manifest[2]!));
      if (tags?.[2]) throw new BerthError('METHOD_UNKNOWN', 'GET a tag through manifests/<tag>');
      let list: TagSummary[];
      try {
        list = await registry.details.tags(name);
      } catch (err) {
        if (err instanceof BerthError && err.code === 'NAME_UNKNOWN') list = [];
        else throw err;
      }
      const signatures = trust
        ? new Map(
            (
              await trust.tags.status(
                name,
                list.map((t) => ({ tag: t.tag, digest: t.digest })),
              )
            ).tags.map((s) => [s.tag, s]),
          )
        : new Map();
      json(
        reply,
        list.map((t) => {
          const s = signatures.get(t.tag);
          return { ...t, signed: Boolean(s?.signed && !s.mismatch), signers: s?.signers ?? [] };
        }),
      );
    },
  });
}
