/**
 * Migration 0008: webhooks, their deliveries (one per event and webhook, kept in order per
 * webhook) and every attempt made of each delivery.
 */
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';
import { autoIncrementId } from './migration-columns.js';

type Db = Kysely<unknown>;

/** Migration 0008. */
export function webhooksMigration(dialect: SqlDialectName): Migration {
  const id = autoIncrementId(dialect);
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .createTable('webhooks')
        .addColumn('id', id.type, id.define)
        .addColumn('scope_kind', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('filters', 'text', (c) => c.notNull())
        .addColumn('secrets', 'text', (c) => c.notNull())
        .addColumn('headers', 'text')
        .addColumn('ca_cert', 'text')
        .addColumn('description', 'text')
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('circuit_failures', 'integer', (c) => c.notNull())
        .addColumn('circuit_open_until', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webhooks_scope')
        .on('webhooks')
        .columns(['scope_kind', 'scope'])
        .execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', id.type, id.define)
        .addColumn('webhook_id', 'bigint', (c) =>
          c.notNull().references('webhooks.id').onDelete('cascade'),
        )
        .addColumn('event_id', 'bigint')
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('finished_at', 'bigint')
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('callback_state', 'text')
        .addColumn('callback_description', 'text')
        .addColumn('callback_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_queue')
        .on('webhook_deliveries')
        .columns(['state', 'webhook_id', 'id'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_log')
        .on('webhook_deliveries')
        .columns(['webhook_id', 'id'])
        .execute();
      await db.schema
        .createTable('webhook_attempts')
        .addColumn('id', id.type, id.define)
        .addColumn('delivery_id', 'bigint', (c) =>
          c.notNull().references('webhook_deliveries.id').onDelete('cascade'),
        )
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('request_headers', 'text', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('response_headers', 'text')
        .addColumn('response_body', 'text')
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .execute();
      await db.schema
        .createIndex('webhook_attempts_delivery')
        .on('webhook_attempts')
        .columns(['delivery_id', 'id'])
        .execute();
    },
  };
}
