/** Blobs known to the registry, and which repositories hold them. */
import type { Kysely, QueryCreator } from 'kysely';
import { PreparedQuery } from './prepared-query.js';
import type { Database } from './schema.js';

/** The statement recording blob `digest` of `size` bytes as stored at `now` (idempotent). */
export function recordBlobQuery(
  db: QueryCreator<Database>,
  digest: string,
  size: number,
  now: number,
) {
  return db
    .insertInto('blobs')
    .values({ digest, size, created_at: now })
    .onConflict((oc) => oc.column('digest').doUpdateSet({ created_at: now }));
}

/** The statement linking blob `digest` into repository `repositoryId` at `now` (idempotent). */
export function linkBlobQuery(
  db: QueryCreator<Database>,
  repositoryId: number,
  digest: string,
  now: number,
) {
  return db
    .insertInto('repository_blobs')
    .values({ repository_id: repositoryId, digest, created_at: now })
    .onConflict((oc) => oc.columns(['repository_id', 'digest']).doUpdateSet({ created_at: now }));
}

/** The size of blob `digest` when repository `repositoryId` holds it (every blob `HEAD` of a push). */
const LINKED_SIZE = new PreparedQuery<{ repositoryId: number; digest: string }>(
  ['repositoryId', 'digest'],
  (db, v) =>
    db
      .selectFrom('repository_blobs')
      .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
      .select('blobs.size')
      .where('repository_blobs.repository_id', '=', v.repositoryId)
      .where('repository_blobs.digest', '=', v.digest),
);

/** Records blobs and their links to repositories. */
export class BlobIndex {
  constructor(private readonly db: Kysely<Database>) {}

  /** Links blob `digest` into repository `repositoryId` (idempotent; refreshes the link's time). */
  async link(repositoryId: number, digest: string): Promise<void> {
    await linkBlobQuery(this.db, repositoryId, digest, Date.now()).execute();
  }

  /** The size of blob `digest` when repository `repositoryId` holds it, else undefined. */
  async linkedSize(repositoryId: number, digest: string): Promise<number | undefined> {
    const { rows } = await LINKED_SIZE.run<{ size: number | string }>(this.db, {
      repositoryId,
      digest,
    });
    return rows[0] === undefined ? undefined : Number(rows[0].size);
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
