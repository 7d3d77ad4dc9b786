/** Migration 0005: leases, so background work runs once across replicas. */
import type { Kysely, Migration } from 'kysely';

type Db = Kysely<unknown>;

/** Migration 0005 (the same for every dialect). */
export function leasesMigration(): Migration {
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
