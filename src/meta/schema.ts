/** The database tables as Kysely sees them. Times are milliseconds since the epoch. */
import type { Generated } from 'kysely';

export interface RepositoriesTable {
  id: Generated<number>;
  name: string;
  created_at: number;
}

export interface BlobsTable {
  digest: string;
  size: number;
  created_at: number;
}

export interface RepositoryBlobsTable {
  repository_id: number;
  digest: string;
  created_at: number;
}

export interface ManifestsTable {
  repository_id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  size: number;
  content: Uint8Array;
  created_at: number;
}

export interface ManifestBlobsTable {
  repository_id: number;
  manifest_digest: string;
  blob_digest: string;
}

export interface ManifestChildrenTable {
  repository_id: number;
  manifest_digest: string;
  child_digest: string;
}

export interface TagsTable {
  repository_id: number;
  name: string;
  manifest_digest: string;
  updated_at: number;
}

export interface UploadsTable {
  id: string;
  repository_id: number;
  size: number;
  created_at: number;
  updated_at: number;
}

/** Every table of the database. */
export interface Database {
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_blobs: ManifestBlobsTable;
  manifest_children: ManifestChildrenTable;
  tags: TagsTable;
  uploads: UploadsTable;
}
