/**
 * Migration 0013: upstream registries (their passwords sealed) and the namespaces that mirror
 * them as pull-through caches, with when each cached tag was last checked upstream.
 */
import type { Kysely, Migration } from 'kysely';

type Db = Kysely<unknown>;

/** Migration 0013. */
export function replicationMigration(): Migration {
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .createTable('upstreams')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('urls', 'text', (c) => c.notNull())
        .addColumn('username', 'text')
        .addColumn('sealed_password', 'text')
        .addColumn('ca', 'text')
        .addColumn('bandwidth', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('cache_namespaces')
        .addColumn('namespace', 'text', (c) => c.primaryKey())
        .addColumn('upstream', 'text', (c) => c.notNull().references('upstreams.name'))
        .addColumn('upstream_prefix', 'text', (c) => c.notNull())
        .addColumn('freshness', 'integer', (c) => c.notNull())
        .addColumn('local_first', 'integer', (c) => c.notNull())
        .addColumn('mirror', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('cache_tags')
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('checked_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('cache_tags_pk', ['repository', 'tag'])
        .execute();
    },
  };
}
