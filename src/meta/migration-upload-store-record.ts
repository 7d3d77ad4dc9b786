/**
 * Migration 0024: what replicas writing one upload share about its storage — a serial each claim
 * on the upload's next write advances (`claim_serial`: unique and increasing among its writes, so
 * a write whose claim lapsed can never reuse the number of a later one), and the content store's
 * record of the upload as of its last recorded write (`store_record`: on S3, the multipart upload
 * its chunks go to and which parts it holds).
 */
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/** Migration 0024. */
export function uploadStoreRecordMigration(dialect: SqlDialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('uploads')
        .addColumn('claim_serial', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('uploads')
        .addColumn('store_record', dialect === 'postgres' ? 'bytea' : 'blob')
        .execute();
    },
  };
}
