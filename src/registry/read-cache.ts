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
  async repositoryId(meta: Meta, name: string): Promise<number | undefined> {
    const cached = this.repositoryIds.get(name);
    if (cached !== undefined) return cached;
    const id = await meta.repositories.find(name);
    if (id !== undefined) this.repositoryIds.set(name, id);
    return id;
  }

  /** The digest tag `tag` points at, or undefined. */
  async tag(meta: Meta, repositoryId: number, tag: string): Promise<string | undefined> {
    const k = key(repositoryId, tag);
    const cached = this.tags.get(k);
    if (cached !== undefined) return cached;
    const digest = await meta.tags.resolve(repositoryId, tag);
    if (digest !== undefined) this.tags.set(k, digest);
    return digest;
  }

  /** The manifest `digest` of a repository, or undefined. */
  async manifest(
    meta: Meta,
    repositoryId: number,
    digest: string,
  ): Promise<ManifestRecord | undefined> {
    const k = key(repositoryId, digest);
    const cached = this.manifests.get(k);
    if (cached !== undefined) return cached;
    const record = await meta.manifests.get(repositoryId, digest);
    if (record !== undefined) this.manifests.set(k, record);
    return record;
  }

  /** The size of blob `digest` in a repository, or undefined. */
  async blobSize(meta: Meta, repositoryId: number, digest: string): Promise<number | undefined> {
    const k = key(repositoryId, digest);
    const cached = this.blobSizes.get(k);
    if (cached !== undefined) return cached;
    const size = await meta.blobs.linkedSize(repositoryId, digest);
    if (size !== undefined) this.blobSizes.set(k, size);
    return size;
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

  /** After garbage collection: everything may have changed. */
  clear(): void {
    this.tags.deletePrefix('');
    this.manifests.deletePrefix('');
    this.blobSizes.deletePrefix('');
  }
}
