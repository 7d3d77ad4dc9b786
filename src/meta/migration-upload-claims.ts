/**
 * Migration 0023: a claim on an upload session's next write (`append_token` until
 * `append_until`, ms), taken by the process about to write it where several share the database,
 * so two replicas never write the same offset of one upload at once (see AppendClaims).
 */
import type { Kysely, Migration } from 'kysely';

/** Migration 0023. */
export function uploadClaimsMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('uploads').addColumn('append_token', 'text').execute();
      await db.schema.alterTable('uploads').addColumn('append_until', 'bigint').execute();
    },
  };
}
