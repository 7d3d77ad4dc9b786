/**
 * Migration 0007: the outbox — every event that records a change is written in the same
 * transaction as the change — and the cursor of each consumer reading it.
 */
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

type Db = Kysely<unknown>;

/** Migration 0007. */
export function outboxMigration(dialect: SqlDialectName): Migration {
  return {
    async up(db: Db): Promise<void> {
      // Ids never go back, even when old events are pruned (AUTOINCREMENT, a sequence), and follow
      // commit order (every append happens inside Berth's serialised write transactions).
      await db.schema
        .createTable('events')
        .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('repository', 'text')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('event_cursors')
        .addColumn('consumer', 'text', (c) => c.primaryKey())
        .addColumn('last_id', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
