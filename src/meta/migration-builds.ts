/**
 * Migration 0009: automated builds — a build configuration per repository (git source, rules,
 * triggers), the builds queued and run from it, and access tokens bound to one repository (the
 * short-lived credential a build pushes with).
 */
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';
import { autoIncrementId } from './migration-columns.js';

type Db = Kysely<unknown>;

/** Migration 0009. */
export function buildsMigration(dialect: SqlDialectName): Migration {
  const id = autoIncrementId(dialect);
  return {
    async up(db: Db): Promise<void> {
      await db.schema.alterTable('access_tokens').addColumn('repository', 'text').execute();
      await db.schema
        .createTable('build_configs')
        .addColumn('id', id.type, id.define)
        .addColumn('repository', 'text', (c) => c.notNull().unique())
        .addColumn('source_url', 'text', (c) => c.notNull())
        .addColumn('credentials', 'text')
        .addColumn('default_branch', 'text')
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('paths', 'text', (c) => c.notNull())
        .addColumn('poll_seconds', 'integer', (c) => c.notNull())
        .addColumn('rebuild_on_base', 'integer', (c) => c.notNull())
        .addColumn('hook_secret', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('disabled_reason', 'text')
        .addColumn('polled', 'text', (c) => c.notNull())
        .addColumn('polled_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('builds')
        .addColumn('id', id.type, id.define)
        .addColumn('config_id', 'bigint', (c) =>
          c.notNull().references('build_configs.id').onDelete('cascade'),
        )
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('ref', 'text', (c) => c.notNull())
        .addColumn('commit_sha', 'text', (c) => c.notNull())
        .addColumn('plan', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('queued_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addColumn('digest', 'text')
        .addColumn('bases', 'text')
        .addColumn('error', 'text')
        .addColumn('log', 'text', (c) => c.notNull())
        .addColumn('holder', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('cancel_requested', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('builds_queue')
        .on('builds')
        .columns(['state', 'queued_at'])
        .execute();
      await db.schema
        .createIndex('builds_history')
        .on('builds')
        .columns(['repository', 'id'])
        .execute();
    },
  };
}
