/**
 * Migration 0018: keys that verify cosign and Notation signatures per namespace or repository,
 * and the signed-tags requirement's mode, accepted kinds and N-of-M threshold.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';
import { autoIncrementId } from './migration-columns.js';

/** Migration 0018. */
export function signaturesMigration(dialect: SqlDialectName): Migration {
  const id = autoIncrementId(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('verification_keys')
        .addColumn('id', id.type, id.define)
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('material', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('verification_keys_name', ['scope', 'name'])
        .execute();
      await db.schema
        .alterTable('trust_policies')
        .addColumn('mode', 'text', (c) => c.notNull().defaultTo('enforce'))
        .execute();
      await db.schema
        .alterTable('trust_policies')
        .addColumn('kinds', 'text', (c) => c.notNull().defaultTo(sql`'["notary"]'`))
        .execute();
      await db.schema.alterTable('trust_policies').addColumn('threshold', 'integer').execute();
    },
  };
}
