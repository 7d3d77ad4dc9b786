/** Migration 0003: content trust (TUF metadata with its history, server keys, changes, policies). */
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

type Db = Kysely<unknown>;

/** Migration 0003 for `dialect`. */
export function trustMigration(dialect: SqlDialectName): Migration {
  const id = dialect === 'postgres' ? 'serial' : 'integer';
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .createTable('trust_files')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('gun', 'text', (c) => c.notNull())
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('sha512', 'text', (c) => c.notNull())
        .addColumn('content', bytes, (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('trust_files_version', ['gun', 'role', 'version'])
        .execute();
      await db.schema
        .createIndex('trust_files_sha256')
        .on('trust_files')
        .columns(['gun', 'sha256'])
        .execute();
      await db.schema
        .createIndex('trust_files_repository')
        .on('trust_files')
        .column('repository')
        .execute();
      await db.schema
        .createTable('trust_keys')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('gun', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('private_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('trust_keys_gun')
        .on('trust_keys')
        .columns(['gun', 'role'])
        .execute();
      await db.schema
        .createTable('trust_changes')
        .addColumn('id', id, (c) => c.primaryKey())
        .addColumn('gun', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('trust_changes_gun').on('trust_changes').column('gun').execute();
      await db.schema
        .createTable('trust_policies')
        .addColumn('scope', 'text', (c) => c.primaryKey())
        .addColumn('signers', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
