/** Migration 0015: immutable-tag rules per namespace or repository. */
import type { ColumnDefinitionBuilder, Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

type Db = Kysely<unknown>;

/** Migration 0015. */
export function immutableTagsMigration(dialect: SqlDialectName): Migration {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  const id = (c: ColumnDefinitionBuilder) =>
    dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement();
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .createTable('immutable_rules')
        .addColumn('id', serial, id)
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('patterns', 'text', (c) => c.notNull())
        .addColumn('exclusions', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
