/**
 * Migration 0011: directory providers saved through the API and the settings page (beside those
 * in the configuration file), their bind passwords sealed with the master key.
 */
import type { Kysely, Migration } from 'kysely';

type Db = Kysely<unknown>;

/** Migration 0011. */
export function identityProvidersMigration(): Migration {
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .createTable('identity_providers')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('sealed_bind_password', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
