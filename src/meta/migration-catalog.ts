/** Migration 0004: what the web UI shows per repository and tag: pulls, last pull, pusher. */
import type { Kysely, Migration } from 'kysely';

type Db = Kysely<unknown>;

/** Migration 0004 (the same for every dialect). */
export function catalogMigration(): Migration {
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .alterTable('repositories')
        .addColumn('pulls', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('repositories').addColumn('last_pulled_at', 'bigint').execute();
      await db.schema.alterTable('tags').addColumn('pushed_by', 'text').execute();
      await db.schema.alterTable('tags').addColumn('last_pulled_at', 'bigint').execute();
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
