/**
 * Migration 0021: an upload session's bytes kept in its own row while the whole upload so far is
 * small enough to become a blob in `inline_blobs` (see `UploadChunks`): docker, skopeo and podman
 * send a small blob as a `PATCH` and an empty `PUT`, and need then write no file or object.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/** Migration 0021. */
export function uploadHeldMigration(dialect: SqlDialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('uploads')
        .addColumn('held', dialect === 'postgres' ? 'bytea' : 'blob')
        .execute();
      if (dialect === 'postgres')
        await sql`alter table uploads alter column held set storage external`.execute(db);
    },
  };
}
