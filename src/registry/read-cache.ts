/**
 * Caches in front of the database for the hot read paths (manifest GET by tag, blob HEAD).
 * Writes made through this process invalidate exactly; changes made elsewhere (another process
 * running `berth gc`, later another replica) become visible within the time to live.
 */
import type { ManifestRecord, Meta } from '../meta/index.js';
import { TtlCache } from './ttl-cache.js';

function key(repositoryId: number, item: string): string {
  return `${repositoryId}\n${item}`;
}

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

  constructor(ttlMs: number) {
    this.repositoryIds = new TtlCache(ttlMs);
    this.tags = new TtlCache(ttlMs);
    this.manifests = new TtlCache(ttlMs, 2_000);
    this.blobSizes = new TtlCache(ttlMs, 50_000);
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

  /** After a tag moved or went. */
  tagChanged(repositoryId: number, tag: string): void {
    this.tags.delete(key(repositoryId, tag));
  }

  /** After a manifest went (and every tag of the repository with it, to be safe). */
  manifestDeleted(repositoryId: number, digest: string): void {
    this.manifests.delete(key(repositoryId, digest));
    this.tags.deletePrefix(`${repositoryId}\n`);
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
  }
}
