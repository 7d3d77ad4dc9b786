/** Schema migrations, written once for every SQL dialect Kysely speaks to. */
import {
  sql,
  type ColumnDefinitionBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
} from 'kysely';
import { accountsMigration } from './migration-accounts.js';
import { trustMigration } from './migration-trust.js';
import { catalogMigration } from './migration-catalog.js';
import { leasesMigration } from './migration-leases.js';
import { blobRemovalsMigration } from './migration-blob-removals.js';
import { inlineBlobsMigration } from './migration-inline-blobs.js';
import { uploadHeldMigration } from './migration-upload-held.js';
import { uploadHashStateMigration } from './migration-upload-hash-state.js';
import { uploadClaimsMigration } from './migration-upload-claims.js';
import { uploadStoreRecordMigration } from './migration-upload-store-record.js';
import { securityMigration } from './migration-security.js';
import { outboxMigration } from './migration-outbox.js';
import { webhooksMigration } from './migration-webhooks.js';
import { buildsMigration } from './migration-builds.js';
import { directoriesMigration } from './migration-directories.js';
import { identityProvidersMigration } from './migration-identity-providers.js';
import { clusterMigration } from './migration-cluster.js';
import { replicationMigration } from './migration-replication.js';
import { replicationRulesMigration } from './migration-replication-rules.js';
import { immutableTagsMigration } from './migration-immutable-tags.js';
import { quotasMigration } from './migration-quotas.js';
import { retentionMigration } from './migration-retention.js';
import { signaturesMigration } from './migration-signatures.js';

/** The SQL dialects the schema is written for. */
export type SqlDialectName = 'sqlite' | 'postgres';

type Db = Kysely<unknown>;

/** A column naming the repository a row belongs to; the row goes when the repository goes. */
function ownedByRepository(c: ColumnDefinitionBuilder): ColumnDefinitionBuilder {
  return c.notNull().references('repositories.id').onDelete('cascade');
}

/** A table of references from a repository's manifest to `column` (a blob or a child manifest). */
async function createManifestReferences(db: Db, table: string, column: string): Promise<void> {
  await db.schema
    .createTable(table)
    .addColumn('repository_id', 'integer', (c) => c.notNull())
    .addColumn('manifest_digest', 'text', (c) => c.notNull())
    .addColumn(column, 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint(`${table}_pk`, ['repository_id', 'manifest_digest', column])
    .addForeignKeyConstraint(
      `${table}_manifest`,
      ['repository_id', 'manifest_digest'],
      'manifests',
      ['repository_id', 'digest'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createIndex(`${table}_target`)
    .on(table)
    .columns(['repository_id', column])
    .execute();
}

async function createRepositoriesAndBlobs(db: Db, dialect: SqlDialectName): Promise<void> {
  await db.schema
    .createTable('repositories')
    .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('blobs')
    .addColumn('digest', 'text', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('repository_blobs')
    .addColumn('repository_id', 'integer', ownedByRepository)
    .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
    .execute();
  await db.schema
    .createIndex('repository_blobs_digest')
    .on('repository_blobs')
    .column('digest')
    .execute();
}

async function createManifestsAndTags(db: Db, binary: string): Promise<void> {
  await db.schema
    .createTable('manifests')
    .addColumn('repository_id', 'integer', ownedByRepository)
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('media_type', 'text', (c) => c.notNull())
    .addColumn('artifact_type', 'text')
    .addColumn('subject', 'text')
    .addColumn('annotations', 'text')
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('content', sql.raw(binary), (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('manifests_pk', ['repository_id', 'digest'])
    .execute();
  await db.schema
    .createIndex('manifests_subject')
    .on('manifests')
    .columns(['repository_id', 'subject'])
    .execute();
  await createManifestReferences(db, 'manifest_blobs', 'blob_digest');
  await db.schema
    .createIndex('manifest_blobs_blob')
    .on('manifest_blobs')
    .column('blob_digest')
    .execute();
  await createManifestReferences(db, 'manifest_children', 'child_digest');
  await db.schema
    .createTable('tags')
    .addColumn('repository_id', 'integer', ownedByRepository)
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('manifest_digest', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('tags_pk', ['repository_id', 'name'])
    .addForeignKeyConstraint(
      'tags_manifest',
      ['repository_id', 'manifest_digest'],
      'manifests',
      ['repository_id', 'digest'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createIndex('tags_manifest_idx')
    .on('tags')
    .columns(['repository_id', 'manifest_digest'])
    .execute();
}

async function createUploads(db: Db): Promise<void> {
  await db.schema
    .createTable('uploads')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('repository_id', 'integer', ownedByRepository)
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

function registryCore(dialect: SqlDialectName): Migration {
  return {
    async up(db: Db): Promise<void> {
      await createRepositoriesAndBlobs(db, dialect);
      await createManifestsAndTags(db, dialect === 'postgres' ? 'bytea' : 'blob');
      await createUploads(db);
    },
  };
}

/** The migrations, in order, for `dialect`. */
export class BerthMigrations implements MigrationProvider {
  constructor(private readonly dialect: SqlDialectName) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '0001_registry_core': registryCore(this.dialect),
      '0002_accounts': accountsMigration(this.dialect),
      '0003_trust': trustMigration(this.dialect),
      '0004_catalog': catalogMigration(),
      '0005_leases': leasesMigration(),
      '0006_security': securityMigration(),
      '0007_outbox': outboxMigration(this.dialect),
      '0008_webhooks': webhooksMigration(this.dialect),
      '0009_builds': buildsMigration(this.dialect),
      '0010_directories': directoriesMigration(),
      '0011_identity_providers': identityProvidersMigration(),
      '0012_cluster': clusterMigration(),
      '0013_replication': replicationMigration(),
      '0014_replication_rules': replicationRulesMigration(this.dialect),
      '0015_immutable_tags': immutableTagsMigration(this.dialect),
      '0016_quotas': quotasMigration(),
      '0017_retention': retentionMigration(this.dialect),
      '0018_signatures': signaturesMigration(this.dialect),
      '0019_blob_removals': blobRemovalsMigration(),
      '0020_inline_blobs': inlineBlobsMigration(this.dialect),
      '0021_upload_held': uploadHeldMigration(this.dialect),
      '0022_upload_hash_state': uploadHashStateMigration(this.dialect),
      '0023_upload_claims': uploadClaimsMigration(),
      '0024_upload_store_record': uploadStoreRecordMigration(this.dialect),
    };
  }
}
