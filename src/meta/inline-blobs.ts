/**
 * Small blobs' bytes kept in the database beside an object store: one row a blob, written in the
 * transaction that records the blob, with a trash flag a collection sets in the transaction that
 * removes the record (so, as with the store's own trash, the bytes come back if that transaction
 * is lost, and a purge after it cannot take a blob written again since). It fills the storage
 * room's `SmallBlobTable` port for reading, restoring and purging.
 */
import type { Kysely, QueryCreator } from 'kysely';
import type { Database } from './schema.js';

/** The statement writing blob `digest`'s bytes (again: a trashed row is taken back). */
export function putInlineBlobQuery(db: QueryCreator<Database>, digest: string, content: Buffer) {
  return db
    .insertInto('inline_blobs')
    .values({ digest, content, trashed: 0 })
    .onConflict((oc) => oc.column('digest').doUpdateSet({ content, trashed: 0 }));
}

/** The `inline_blobs` table. */
export class InlineBlobStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Writes blob `digest`'s bytes (again: a trashed row is taken back); inside the recording transaction. */
  async put(digest: string, content: Buffer): Promise<void> {
    await putInlineBlobQuery(this.db, digest, content).execute();
  }

  /** Blob `digest`'s bytes, unless it is not here or in the trash. */
  async read(digest: string): Promise<Buffer | undefined> {
    const row = await this.db
      .selectFrom('inline_blobs')
      .select('content')
      .where('digest', '=', digest)
      .where('trashed', '=', 0)
      .executeTakeFirst();
    return row?.content;
  }

  /** Sets blob `digest` aside; false when it is not here. */
  async trash(digest: string): Promise<boolean> {
    return this.flag(digest, 1);
  }

  /** Puts a trashed blob back; false when there is none. */
  async restore(digest: string): Promise<boolean> {
    return this.flag(digest, 0);
  }

  /** Deletes blob `digest` for good if it is in the trash (not if it was written again since). */
  async purge(digest: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('inline_blobs')
      .where('digest', '=', digest)
      .where('trashed', '=', 1)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Digests of the trashed blobs. */
  async trashed(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('inline_blobs')
      .select('digest')
      .where('trashed', '=', 1)
      .execute();
    return rows.map((r) => r.digest);
  }

  private async flag(digest: string, trashed: 0 | 1): Promise<boolean> {
    const result = await this.db
      .updateTable('inline_blobs')
      .set({ trashed })
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
