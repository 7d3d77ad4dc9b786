/**
 * Browsing images for a caller: the repository catalog with figures (sorted, filtered, searched,
 * paged), search (for the UI and `docker search`), a repository's tags with signatures, a
 * manifest in full, and deleting a tag. Only what the caller may see.
 */
import { ANONYMOUS, type Actor, type AuthService, type Principal } from '../auth/index.js';
import type {
  ListingFilter,
  ListingScope,
  Meta,
  RepositoryInfo,
  RepositoryStats,
} from '../meta/index.js';
import { BerthError, isValidName } from '../oci/index.js';
import {
  rankRepositories,
  searchTerms as termsOf,
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

/** A page of a repository's tags: `next` is the tag to continue after, null at the end. */
export interface TagPage {
  tags: SignedTag[];
  total: number;
  next: string | null;
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

  /** Which repositories `principal` may see in listings (all of them without auth). */
  private async scope(principal: Principal): Promise<ListingScope> {
    if (!this.auth) return { all: true };
    return this.auth.requests.listingScope({ principal, via: 'basic' });
  }

  /** A page of `infos` with the figures of the page shown only (aggregating all is the slow part). */
  private async entries(shown: RepositoryInfo[]): Promise<CatalogEntry[]> {
    const stats = await this.meta.catalog.stats(shown.map((i) => i.id));
    return shown.map((i) => entryOf(i, stats.get(i.id)));
  }

  /**
   * One page of the catalog, with the namespaces the caller sees. By name, the database pages;
   * by relevance, only the matching repositories are ranked; by a figure, all the caller sees
   * are read with their figures.
   */
  async catalog(principal: Principal, query: CatalogQuery) {
    const scope = await this.scope(principal);
    const filter: ListingFilter = {
      scope,
      namespace: query.namespace,
      visibility: query.visibility,
      terms: termsOf(query.q ?? ''),
    };
    const namespaces = await this.meta.repositories.namespacesListed(scope);
    const { page, pageSize } = query;
    const sorting = !query.q || query.sorted;
    const from = (page - 1) * pageSize;
    let total: number;
    let shownEntries: CatalogEntry[];
    if (sorting && query.sort === 'name') {
      total = await this.meta.repositories.countListed(filter);
      const shown = await this.meta.repositories.listed(filter, {
        order: query.order,
        offset: from,
        limit: pageSize,
      });
      shownEntries = await this.entries(shown);
    } else if (sorting) {
      // Sorted by a figure: every repository's figures are needed.
      const infos = await this.meta.repositories.listed(filter);
      total = infos.length;
      const sign = query.order === 'asc' ? 1 : -1;
      const stats = await this.meta.catalog.stats();
      const entries = infos.map((i) => entryOf(i, stats.get(i.id)));
      entries.sort((a, b) => sign * compare(query.sort, a, b) || (a.name < b.name ? -1 : 1));
      shownEntries = entries.slice(from, from + pageSize);
    } else {
      const ranked = rankRepositories(await this.meta.repositories.listed(filter), query.q ?? '');
      total = ranked.length;
      shownEntries = await this.entries(ranked.slice(from, from + pageSize));
    }
    return {
      total,
      page,
      pageSize,
      pages: Math.max(1, Math.ceil(total / pageSize)),
      namespaces,
      repositories: shownEntries,
    };
  }

  /**
   * Searches what `principal` (anonymous by default) may see by name and description: the
   * database finds the repositories containing every word, and only those are ranked.
   */
  async search(
    { q, page, pageSize }: SearchQuery,
    principal: Principal = ANONYMOUS,
  ): Promise<SearchPage> {
    const filter: ListingFilter = { scope: await this.scope(principal), terms: termsOf(q) };
    const from = (page - 1) * pageSize;
    let total: number;
    let shown: RepositoryInfo[];
    if (filter.terms!.length === 0) {
      // Nothing to rank by: every repository the caller sees, by name.
      total = await this.meta.repositories.countListed(filter);
      shown = await this.meta.repositories.listed(filter, { offset: from, limit: pageSize });
    } else {
      const ranked = rankRepositories(await this.meta.repositories.listed(filter), q);
      total = ranked.length;
      shown = ranked.slice(from, from + pageSize);
    }
    return {
      query: q,
      total,
      page,
      pageSize,
      pages: Math.max(1, Math.ceil(total / pageSize)),
      results: await this.entries(shown),
    };
  }

  private async readable(principal: Principal, name: string): Promise<void> {
    if (!isValidName(name)) throw new BerthError('NOT_FOUND', 'no such image route');
    if (this.auth && !(await this.auth.requests.mayRead({ principal, via: 'basic' }, name)))
      throw new BerthError('NOT_FOUND', `no repository ${name} (or it is private)`);
  }

  /**
   * A page of the tags of `name` (`limit` after `last`, by name) with size, platforms, pusher,
   * last pull and signatures; the total, and the tag to continue after when more follow.
   */
  async tags(
    principal: Principal,
    name: string,
    page: { limit: number; last?: string },
  ): Promise<TagPage> {
    await this.readable(principal, name);
    let list: TagSummary[] = [];
    let total = 0;
    let more = false;
    try {
      ({ tags: list, total, more } = await this.registry.details.tags(name, page));
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'NAME_UNKNOWN')) throw err;
    }
    const pairs = list.map((t) => ({ tag: t.tag, digest: t.digest }));
    const signatures = this.trust
      ? new Map((await this.trust.tags.status(name, pairs)).tags.map((s) => [s.tag, s]))
      : new Map();
    const tags = list.map((t) => {
      const s = signatures.get(t.tag);
      const kinds: string[] = s?.kinds ?? [];
      return { ...t, signed: kinds.length > 0, signers: s?.signers ?? [], signatureKinds: kinds };
    });
    const next = more ? tags[tags.length - 1]!.tag : null;
    return { tags, total, next };
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
