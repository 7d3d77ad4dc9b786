/**
 * Caches in front of the database for the hot read paths (manifest GET by tag, blob HEAD, tag
 * pages).
 * Writes made through this process invalidate exactly; changes made elsewhere (another process
 * running `berth gc`, later another replica) become visible within the time to live.
 */
import type { ManifestRecord, Meta } from '../meta/index.js';
import { TtlCache } from './ttl-cache.js';

function key(repositoryId: number, item: string): string {
  return `${repositoryId}\n${item}`;
}

/** Tag pages of at most this many names are cached (`n` up to 250, as clients that walk ask). */
const MOST_CACHED_PAGE = 251;
/** How many tag pages are cached: at most some 50,000 names. */
const CACHED_PAGES = 200;
/** Repositories whose tag generation is remembered before all are forgotten (with the pages). */
const REMEMBERED_GENERATIONS = 10_000;

/** The cached value under `k`, or what `load` finds (cached when found; misses are not cached). */
async function through<V>(
  cache: TtlCache<V>,
  k: string,
  load: () => Promise<V | undefined>,
): Promise<V | undefined> {
  const cached = cache.get(k);
  if (cached !== undefined) return cached;
  const value = await load();
  if (value !== undefined) cache.set(k, value);
  return value;
}

/** The read caches of one registry process. */
export class ReadCache {
  private readonly repositoryIds: TtlCache<number>;
  private readonly tags: TtlCache<string>;
  private readonly manifests: TtlCache<ManifestRecord>;
  private readonly blobSizes: TtlCache<number>;
  private readonly tagPages: TtlCache<string[]>;
  /**
   * A number per repository whose tags this process changed, part of its pages' keys: a change
   * moves it on, so no page read before the change (even one whose query was still running) is
   * found after it. Repositories not in the map are at `unchanged`, moved on when the map is
   * cleared for the same reason.
   */
  private readonly tagGenerations = new Map<number, number>();
  private generation = 0;
  private unchanged = 0;

  constructor(ttlMs: number) {
    this.repositoryIds = new TtlCache(ttlMs);
    this.tags = new TtlCache(ttlMs);
    this.manifests = new TtlCache(ttlMs, 2_000);
    this.blobSizes = new TtlCache(ttlMs, 50_000);
    this.tagPages = new TtlCache(ttlMs, CACHED_PAGES);
  }

  /** The id of repository `name` (committed state), or undefined. */
  repositoryId(meta: Meta, name: string): Promise<number | undefined> {
    return through(this.repositoryIds, name, () => meta.repositories.find(name));
  }

  /** The digest tag `tag` points at, or undefined. */
  tag(meta: Meta, repositoryId: number, tag: string): Promise<string | undefined> {
    return through(this.tags, key(repositoryId, tag), () => meta.tags.resolve(repositoryId, tag));
  }

  /** The manifest `digest` of a repository, or undefined. */
  manifest(meta: Meta, repositoryId: number, digest: string): Promise<ManifestRecord | undefined> {
    return through(this.manifests, key(repositoryId, digest), () =>
      meta.manifests.get(repositoryId, digest),
    );
  }

  /** The size of blob `digest` in a repository, or undefined. */
  blobSize(meta: Meta, repositoryId: number, digest: string): Promise<number | undefined> {
    return through(this.blobSizes, key(repositoryId, digest), () =>
      meta.blobs.linkedSize(repositoryId, digest),
    );
  }

  /**
   * Up to `limit` tag names of a repository after `last`, in lexical order (the page is shared:
   * not to be changed).
   */
  async tagPage(meta: Meta, repositoryId: number, limit: number, last?: string): Promise<string[]> {
    if (limit > MOST_CACHED_PAGE) return meta.tags.list(repositoryId, limit, last);
    const generation = this.tagGenerations.get(repositoryId) ?? this.unchanged;
    // Tag names hold neither a newline nor a NUL: the parts cannot run into each other.
    const k = key(repositoryId, `${generation}\n${limit}\n${last ?? '\0'}`);
    return (await through(this.tagPages, k, () => meta.tags.list(repositoryId, limit, last)))!;
  }

  /** After a tag was added, moved or went. */
  tagChanged(repositoryId: number, tag: string): void {
    this.tags.delete(key(repositoryId, tag));
    this.tagPagesChanged(repositoryId);
  }

  /** Moves the repository's tag generation on: its cached pages are not found again. */
  private tagPagesChanged(repositoryId: number): void {
    if (
      this.tagGenerations.size >= REMEMBERED_GENERATIONS &&
      !this.tagGenerations.has(repositoryId)
    )
      this.forgetTagPages();
    this.generation += 1;
    this.tagGenerations.set(repositoryId, this.generation);
  }

  /** Forgets every tag page, and the generations (no page of an earlier one is left to find). */
  private forgetTagPages(): void {
    this.tagPages.clear();
    this.tagGenerations.clear();
    this.generation += 1;
    this.unchanged = this.generation;
  }

  /** After a manifest went (and every tag of the repository with it, to be safe). */
  manifestDeleted(repositoryId: number, digest: string): void {
    this.manifests.delete(key(repositoryId, digest));
    this.tags.deletePrefix(`${repositoryId}\n`);
    this.tagPagesChanged(repositoryId);
  }

  /** After a blob left a repository. */
  blobUnlinked(repositoryId: number, digest: string): void {
    this.blobSizes.delete(key(repositoryId, digest));
  }

  /**
   * After repositories were deleted or renamed: their names may now mean other ids, and their
   * ids (SQLite reuses the highest) other repositories, so nothing cached is kept.
   */
  forgetRepositories(): void {
    this.repositoryIds.clear();
    this.clear();
  }

  /** After garbage collection: everything may have changed. */
  clear(): void {
    this.tags.deletePrefix('');
    this.manifests.deletePrefix('');
    this.blobSizes.deletePrefix('');
    this.forgetTagPages();
  }
}
