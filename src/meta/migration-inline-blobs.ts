/**
 * Migration 0020: small blobs kept in the database beside the records that name them, for object
 * stores where one more PUT costs a small push more than its transaction (see `InlineBlobStore`).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/** Migration 0020. */
export function inlineBlobsMigration(dialect: SqlDialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('inline_blobs')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('content', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
        // 1 while a collection has set the blob aside (the store's trash), else 0.
        .addColumn('trashed', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // Layers come compressed already: PostgreSQL should not try again before storing them.
      if (dialect === 'postgres')
        await sql`alter table inline_blobs alter column content set storage external`.execute(db);
    },
  };
}
