/**
 * Browsing images for a caller: the repository catalog with figures (sorted, filtered, searched,
 * paged), search (for the UI and `docker search`), a repository's tags with signatures, a
 * manifest in full, and deleting a tag. Only what the caller may see.
 */
import { ANONYMOUS, type Actor, type AuthService, type Principal } from '../auth/index.js';
import type { Meta, RepositoryInfo, RepositoryStats } from '../meta/index.js';
import { BerthError, isValidName } from '../oci/index.js';
import {
  rankRepositories,
  type ChangeContext,
  type ManifestView,
  type Registry,
  type TagSummary,
} from '../registry/index.js';
import type { TrustService } from '../trust/index.js';

/** How catalog listings may be sorted. */
export const CATALOG_SORTS = ['name', 'pushed', 'size', 'pulls'] as const;

/** A catalog sort. */
export type CatalogSort = (typeof CATALOG_SORTS)[number];

/** A repository in listings. */
export interface CatalogEntry {
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

/** What a catalog page asks for. */
export interface CatalogQuery {
  sort: CatalogSort;
  /** Whether `sort` was asked for (else search results keep their rank). */
  sorted: boolean;
  order: 'asc' | 'desc';
  page: number;
  pageSize: number;
  q?: string;
  namespace?: string;
  visibility?: string;
}

/** What a search asks for: `q` words, page `page` of `pageSize`. */
export interface SearchQuery {
  q: string;
  page: number;
  pageSize: number;
}

/** One page of search results. */
export interface SearchPage {
  query: string;
  total: number;
  page: number;
  pageSize: number;
  pages: number;
  results: CatalogEntry[];
}

/** A tag with its signature status. */
export type SignedTag = TagSummary & {
  signed: boolean;
  signers: string[];
  /** The kinds of signature that verify for the tag's digest: notary, cosign, notation. */
  signatureKinds: string[];
};

function entryOf(info: RepositoryInfo, stats: RepositoryStats | undefined): CatalogEntry {
  const slash = info.name.indexOf('/');
  const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);
  return {
    name: info.name,
    namespace: slash < 0 ? null : info.name.slice(0, slash),
    visibility: info.visibility,
    description: info.description,
    createdBy: info.createdBy,
    createdAt: new Date(info.createdAt).toISOString(),
    size: stats?.size ?? 0,
    tags: stats?.tags ?? 0,
    pushedAt: iso(stats?.pushedAt),
    pulls: stats?.pulls ?? 0,
    lastPulledAt: iso(stats?.lastPulledAt),
  };
}

function compare(sort: CatalogSort, a: CatalogEntry, b: CatalogEntry): number {
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

/** The catalog, search and image views, checked per caller. */
export class CatalogService {
  constructor(
    private readonly meta: Meta,
    private readonly registry: Registry,
    private readonly auth?: AuthService,
    private readonly trust?: TrustService,
  ) {}

  /** Every repository `principal` may see (all of them without auth), by name. */
  private async visible(principal: Principal): Promise<RepositoryInfo[]> {
    const all = await this.meta.repositories.all();
    if (!this.auth) return all;
    const visible = new Set(await this.auth.requests.visible({ principal, via: 'basic' }, all));
    return all.filter((r) => visible.has(r.name));
  }

  /** One page of the catalog, with the namespaces the caller sees. */
  async catalog(principal: Principal, query: CatalogQuery) {
    let infos = await this.visible(principal);
    const namespaces = [
      ...new Set(infos.filter((i) => i.name.includes('/')).map((i) => i.name.split('/')[0]!)),
    ].sort();
    if (query.namespace) infos = infos.filter((i) => i.name.startsWith(`${query.namespace}/`));
    if (query.visibility) infos = infos.filter((i) => i.visibility === query.visibility);
    if (query.q) infos = rankRepositories(infos, query.q);
    const { page, pageSize } = query;
    const sorting = !query.q || query.sorted;
    const sign = query.order === 'asc' ? 1 : -1;
    const from = (page - 1) * pageSize;
    let shownEntries: CatalogEntry[];
    if (sorting && query.sort !== 'name') {
      // Sorted by a figure: every repository's figures are needed.
      const stats = await this.meta.catalog.stats();
      const entries = infos.map((i) => entryOf(i, stats.get(i.id)));
      entries.sort((a, b) => sign * compare(query.sort, a, b) || (a.name < b.name ? -1 : 1));
      shownEntries = entries.slice(from, from + pageSize);
    } else {
      // By name or by relevance: only the page shown needs its figures.
      if (sorting)
        infos = [...infos].sort((a, b) => sign * (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const shown = infos.slice(from, from + pageSize);
      const stats = await this.meta.catalog.stats(shown.map((i) => i.id));
      shownEntries = shown.map((i) => entryOf(i, stats.get(i.id)));
    }
    return {
      total: infos.length,
      page,
      pageSize,
      pages: Math.max(1, Math.ceil(infos.length / pageSize)),
      namespaces,
      repositories: shownEntries,
    };
  }

  /** Searches what `principal` (anonymous by default) may see by name and description. */
  async search(
    { q, page, pageSize }: SearchQuery,
    principal: Principal = ANONYMOUS,
  ): Promise<SearchPage> {
    const ranked = rankRepositories(await this.visible(principal), q);
    const shown = ranked.slice((page - 1) * pageSize, page * pageSize);
    // Figures only for the page shown: aggregating every repository's tags is the slow part.
    const stats = await this.meta.catalog.stats(shown.map((r) => r.id));
    return {
      query: q,
      total: ranked.length,
      page,
      pageSize,
      pages: Math.max(1, Math.ceil(ranked.length / pageSize)),
      results: shown.map((r) => entryOf(r, stats.get(r.id))),
    };
  }

  private async readable(principal: Principal, name: string): Promise<void> {
    if (!isValidName(name)) throw new BerthError('NOT_FOUND', 'no such image route');
    if (this.auth && !(await this.auth.requests.mayRead({ principal, via: 'basic' }, name)))
      throw new BerthError('NOT_FOUND', `no repository ${name} (or it is private)`);
  }

  /** The tags of `name` with size, platforms, pusher, last pull and signature. */
  async tags(principal: Principal, name: string): Promise<SignedTag[]> {
    await this.readable(principal, name);
    let list: TagSummary[];
    try {
      list = await this.registry.details.tags(name);
    } catch (err) {
      if (err instanceof BerthError && err.code === 'NAME_UNKNOWN') list = [];
      else throw err;
    }
    const pairs = list.map((t) => ({ tag: t.tag, digest: t.digest }));
    const signatures = this.trust
      ? new Map((await this.trust.tags.status(name, pairs)).tags.map((s) => [s.tag, s]))
      : new Map();
    return list.map((t) => {
      const s = signatures.get(t.tag);
      const kinds: string[] = s?.kinds ?? [];
      return { ...t, signed: kinds.length > 0, signers: s?.signers ?? [], signatureKinds: kinds };
    });
  }

  /** A manifest in full: config, layers with history, platforms, referrers. */
  async describe(principal: Principal, name: string, reference: string): Promise<ManifestView> {
    await this.readable(principal, name);
    return this.registry.details.describe(name, reference);
  }

  /** Deletes tag `tag` of `name` (repository administrators); recorded with its event. */
  async deleteTag(actor: Actor, name: string, tag: string, context: ChangeContext): Promise<void> {
    await this.readable(actor.principal, name);
    if (
      this.auth &&
      !(await this.auth.requests.may({ principal: actor.principal, via: 'basic' }, name, 'delete'))
    )
      throw new BerthError('DENIED', `deleting tags of ${name} needs admin rights on it`);
    await this.registry.manifests.delete(name, tag, context);
  }
}
