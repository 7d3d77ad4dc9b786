/**
 * Migration 0006: names of deleted accounts stay reserved until an administrator frees them, and
 * uploads record who opened them.
 */
import type { Kysely, Migration } from 'kysely';

type Db = Kysely<unknown>;

/** Migration 0006 (the same for every dialect). */
export function securityMigration(): Migration {
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .createTable('retired_names')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('retired_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_by', 'text')
        .execute();
      // Who opened each upload, so the sessions and bytes one account holds can be bounded.
      await db.schema.alterTable('uploads').addColumn('owner', 'text').execute();
      await db.schema.createIndex('uploads_owner').on('uploads').column('owner').execute();
    },
  };
}
