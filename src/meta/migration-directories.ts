/**
 * Migration 0010: accounts that come from a directory (LDAP, Active Directory) name their
 * provider and the directory's stable id for them; local accounts name none.
 */
import type { Kysely, Migration } from 'kysely';

type Db = Kysely<unknown>;

/** Migration 0010. */
export function directoriesMigration(): Migration {
  return {
    async up(db: Db): Promise<void> {
      await db.schema.alterTable('accounts').addColumn('provider', 'text').execute();
      await db.schema.alterTable('accounts').addColumn('external_id', 'text').execute();
      await db.schema
        .createIndex('accounts_external')
        .on('accounts')
        .columns(['provider', 'external_id'])
        .unique()
        .execute();
    },
  };
}
