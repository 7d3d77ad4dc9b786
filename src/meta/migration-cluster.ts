/**
 * Migration 0012: the control plane — the cluster CA (its key sealed), join tokens (sealed, so
 * they can be shown again until rotated), nodes with their certificates and last heartbeat, each
 * node's inventory snapshot, collections of nodes and containers granted to teams, and admission
 * policies.
 */
import type { Kysely, Migration } from 'kysely';

type Db = Kysely<unknown>;

/** Migration 0012. */
export function clusterMigration(): Migration {
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .createTable('cluster_ca')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('certificate', 'text', (c) => c.notNull())
        .addColumn('sealed_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('cluster_join_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('sealed_token', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema
        .createTable('cluster_nodes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('engine', 'text', (c) => c.notNull())
        .addColumn('certificate', 'text', (c) => c.notNull())
        .addColumn('cert_serial', 'text', (c) => c.notNull())
        .addColumn('availability', 'text', (c) => c.notNull())
        .addColumn('engine_ok', 'integer', (c) => c.notNull())
        .addColumn('engine_error', 'text')
        .addColumn('mem_free', 'bigint')
        .addColumn('joined_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema
        .createTable('cluster_inventory')
        .addColumn('node_id', 'text', (c) =>
          c.primaryKey().references('cluster_nodes.id').onDelete('cascade'),
        )
        .addColumn('snapshot', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('cluster_collections')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('node_labels', 'text', (c) => c.notNull())
        .addColumn('container_labels', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('cluster_grants')
        .addColumn('collection', 'text', (c) =>
          c.notNull().references('cluster_collections.name').onDelete('cascade'),
        )
        .addColumn('team_id', 'integer', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('cluster_grants_pk', ['collection', 'team_id'])
        .execute();
      await db.schema
        .createTable('cluster_policies')
        .addColumn('scope', 'text', (c) => c.primaryKey())
        .addColumn('signed_only', 'integer', (c) => c.notNull())
        .addColumn('signers', 'text', (c) => c.notNull())
        .addColumn('berth_only', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
