/**
 * Migration 0014: replication rules (push to or pull from an upstream) and their executions, with
 * per-image progress and a log each.
 */
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';
import { autoIncrementId } from './migration-columns.js';

type Db = Kysely<unknown>;

/** Migration 0014. */
export function replicationRulesMigration(dialect: SqlDialectName): Migration {
  const id = autoIncrementId(dialect);
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .createTable('replication_rules')
        .addColumn('id', id.type, id.define)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('last_run_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('replication_executions')
        .addColumn('id', id.type, id.define)
        .addColumn('rule_id', 'bigint', (c) =>
          c.notNull().references('replication_rules.id').onDelete('cascade'),
        )
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('only', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('items', 'text', (c) => c.notNull())
        .addColumn('log', 'text', (c) => c.notNull())
        .addColumn('queued_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .execute();
    },
  };
}
