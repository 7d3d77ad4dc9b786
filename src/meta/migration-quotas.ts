/** Migration 0016: quotas on the whole registry, a namespace or a repository. */
import type { Kysely, Migration } from 'kysely';

/** Migration 0016. */
export function quotasMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('quotas')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('storage_soft', 'bigint')
        .addColumn('storage_hard', 'bigint')
        .addColumn('repositories_max', 'integer')
        .addColumn('tags_max', 'integer')
        .addColumn('updated_by', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('quotas_pk', ['kind', 'scope'])
        .execute();
    },
  };
}
