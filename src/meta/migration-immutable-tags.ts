/** Migration 0015: immutable-tag rules per namespace or repository. */
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';
import { autoIncrementId } from './migration-columns.js';

type Db = Kysely<unknown>;

/** Migration 0015. */
export function immutableTagsMigration(dialect: SqlDialectName): Migration {
  const id = autoIncrementId(dialect);
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .createTable('immutable_rules')
        .addColumn('id', id.type, id.define)
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('patterns', 'text', (c) => c.notNull())
        .addColumn('exclusions', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
