/** Schema migrations, written once for every SQL dialect Kysely speaks to. */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/** The SQL dialects the schema is written for. */
export type SqlDialectName = 'sqlite' | 'postgres';

function initial(dialect: SqlDialectName): Migration {
  const binary = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
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
        .addColumn('repository_id', 'integer', (c) =>
          c.notNull().references('repositories.id').onDelete('cascade'),
        )
        .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
        .execute();
      await db.schema
        .createIndex('repository_blobs_digest')
        .on('repository_blobs')
        .column('digest')
        .execute();
      await db.schema
        .createTable('manifests')
        .addColumn('repository_id', 'integer', (c) =>
          c.notNull().references('repositories.id').onDelete('cascade'),
        )
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
      await db.schema
        .createTable('manifest_blobs')
        .addColumn('repository_id', 'integer', (c) => c.notNull())
        .addColumn('manifest_digest', 'text', (c) => c.notNull())
        .addColumn('blob_digest', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('manifest_blobs_pk', [
          'repository_id',
          'manifest_digest',
          'blob_digest',
        ])
        .addForeignKeyConstraint(
          'manifest_blobs_manifest',
          ['repository_id', 'manifest_digest'],
          'manifests',
          ['repository_id', 'digest'],
          (fk) => fk.onDelete('cascade'),
        )
        .execute();
      await db.schema
        .createIndex('manifest_blobs_blob')
        .on('manifest_blobs')
        .columns(['blob_digest'])
        .execute();
      await db.schema
        .createTable('manifest_children')
        .addColumn('repository_id', 'integer', (c) => c.notNull())
        .addColumn('manifest_digest', 'text', (c) => c.notNull())
        .addColumn('child_digest', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('manifest_children_pk', [
          'repository_id',
          'manifest_digest',
          'child_digest',
        ])
        .addForeignKeyConstraint(
          'manifest_children_manifest',
          ['repository_id', 'manifest_digest'],
          'manifests',
          ['repository_id', 'digest'],
          (fk) => fk.onDelete('cascade'),
        )
        .execute();
      await db.schema
        .createIndex('manifest_children_child')
        .on('manifest_children')
        .columns(['repository_id', 'child_digest'])
        .execute();
      await db.schema
        .createTable('tags')
        .addColumn('repository_id', 'integer', (c) =>
          c.notNull().references('repositories.id').onDelete('cascade'),
        )
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
      await db.schema
        .createTable('uploads')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('repository_id', 'integer', (c) =>
          c.notNull().references('repositories.id').onDelete('cascade'),
        )
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}

/** The migrations, in order, for `dialect`. */
export class BerthMigrations implements MigrationProvider {
  constructor(private readonly dialect: SqlDialectName) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return { '0001_registry_core': initial(this.dialect) };
  }
}
