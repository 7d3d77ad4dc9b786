/**
 * Migration 0022: an upload session's running SHA-256 state, saved with its size where another
 * process may continue the upload (a content store shared by replicas), so the replica taking
 * it over hashes only the new bytes instead of reading back every byte stored so far.
 */
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/** Migration 0022. */
export function uploadHashStateMigration(dialect: SqlDialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('uploads')
        .addColumn('hash_state', dialect === 'postgres' ? 'bytea' : 'blob')
        .execute();
    },
  };
}
