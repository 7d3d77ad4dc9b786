/** Migration 0017: retention policies, their runs, and the trash of tags they removed. */
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';
import { autoIncrementId } from './migration-columns.js';

/** Migration 0017. */
export function retentionMigration(dialect: SqlDialectName): Migration {
  const id = autoIncrementId(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('retention_policies')
        .addColumn('id', id.type, id.define)
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('every_hours', 'integer')
        .addColumn('restore_days', 'integer', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('last_run_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('retention_runs')
        .addColumn('id', id.type, id.define)
        .addColumn('policy_id', 'integer', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('dry_run', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('removed', 'integer', (c) => c.notNull())
        .addColumn('kept', 'integer', (c) => c.notNull())
        .addColumn('report', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .execute();
      await db.schema
        .createTable('retention_trash')
        .addColumn('id', id.type, id.define)
        .addColumn('repository_id', 'integer', (c) => c.notNull())
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('run_id', 'integer', (c) => c.notNull())
        .addColumn('pushed_at', 'bigint', (c) => c.notNull())
        .addColumn('removed_at', 'bigint', (c) => c.notNull())
        .addColumn('restore_until', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('retention_trash_manifest')
        .on('retention_trash')
        .columns(['repository_id', 'digest'])
        .execute();
    },
  };
}
