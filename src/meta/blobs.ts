/** Blobs known to the registry, and which repositories hold them. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Records blobs and their links to repositories. */
export class BlobIndex {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records that blob `digest` of `size` bytes is stored (idempotent). */
  async record(digest: string, size: number): Promise<void> {
    await this.db
      .insertInto('blobs')
      .values({ digest, size, created_at: Date.now() })
      .onConflict((oc) => oc.column('digest').doUpdateSet({ created_at: Date.now() }))
      .execute();
  }

  /** Links blob `digest` into repository `repositoryId` (idempotent; refreshes the link's time). */
  async link(repositoryId: number, digest: string): Promise<void> {
    const now = Date.now();
    await this.db
      .insertInto('repository_blobs')
      .values({ repository_id: repositoryId, digest, created_at: now })
      .onConflict((oc) => oc.columns(['repository_id', 'digest']).doUpdateSet({ created_at: now }))
      .execute();
  }

  /** The size of blob `digest` when repository `repositoryId` holds it, else undefined. */
  async linkedSize(repositoryId: number, digest: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('repository_blobs')
      .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
      .select('blobs.size')
      .where('repository_blobs.repository_id', '=', repositoryId)
      .where('repository_blobs.digest', '=', digest)
      .executeTakeFirst();
    return row === undefined ? undefined : Number(row.size);
  }

  /** The size of blob `digest` if the registry stores it at all. */
  async size(digest: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('blobs')
      .select('size')
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row === undefined ? undefined : Number(row.size);
  }

  /** Removes blob `digest` from repository `repositoryId`; true when it was linked. */
  async unlink(repositoryId: number, digest: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('repository_blobs')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Which of `digests` repository `repositoryId` does not hold. */
  async missing(repositoryId: number, digests: string[]): Promise<string[]> {
    if (digests.length === 0) return [];
    const rows = await this.db
      .selectFrom('repository_blobs')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .where('digest', 'in', digests)
      .execute();
    const held = new Set(rows.map((r) => r.digest));
    return digests.filter((d) => !held.has(d));
  }
}
