/**
 * Migration 0019: a count of blob removals, bumped by every transaction that moves a blob's bytes
 * aside, so a commit can tell whether any was removed since it wrote its blob (see
 * `GcQueries.removals`).
 */
import type { Kysely, Migration } from 'kysely';

/** Migration 0019 (the same for every dialect). */
export function blobRemovalsMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('blob_removals')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .execute();
      await db
        .insertInto('blob_removals' as never)
        .values({ id: 1, count: 0 } as never)
        .execute();
    },
  };
}
