/** Manifests of each repository, byte-exact, with what they reference. */
import type { Kysely, QueryCreator } from 'kysely';
import type { Database } from './schema.js';

/** A stored manifest. */
export interface ManifestRecord {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subject: string | null;
  annotations: Record<string, string> | null;
  size: number;
  content: Buffer;
  createdAt: number;
}

/** What a manifest references, recorded alongside it. */
export interface ManifestLinks {
  blobs: string[];
  children: string[];
}

type Row = Database['manifests'];

/** The statement storing manifest `record` in repository `repositoryId` unless it is there. */
export function insertManifestQuery(
  db: QueryCreator<Database>,
  repositoryId: number,
  record: Omit<ManifestRecord, 'createdAt'>,
) {
  return db
    .insertInto('manifests')
    .values({
      repository_id: repositoryId,
      digest: record.digest,
      media_type: record.mediaType,
      artifact_type: record.artifactType,
      subject: record.subject,
      annotations: record.annotations ? JSON.stringify(record.annotations) : null,
      size: record.size,
      content: record.content,
      created_at: Date.now(),
    })
    .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing());
}

function toRecord(
  row: Pick<
    Row,
    | 'digest'
    | 'media_type'
    | 'artifact_type'
    | 'subject'
    | 'annotations'
    | 'size'
    | 'content'
    | 'created_at'
  >,
): ManifestRecord {
  return {
    digest: row.digest,
    mediaType: row.media_type,
    artifactType: row.artifact_type,
    subject: row.subject,
    annotations: row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : null,
    size: Number(row.size),
    content: Buffer.from(row.content),
    createdAt: Number(row.created_at),
  };
}

/** Reads and writes manifests. */
export class ManifestStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Stores a manifest and its references; storing the same digest again is a no-op. */
  async put(
    repositoryId: number,
    record: Omit<ManifestRecord, 'createdAt'>,
    links: ManifestLinks,
  ): Promise<void> {
    const inserted = await insertManifestQuery(this.db, repositoryId, record).executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return;
    const manifest_digest = record.digest;
    if (links.blobs.length > 0) {
      await this.db
        .insertInto('manifest_blobs')
        .values(
          links.blobs.map((blob_digest) => ({
            repository_id: repositoryId,
            manifest_digest,
            blob_digest,
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    if (links.children.length > 0) {
      await this.db
        .insertInto('manifest_children')
        .values(
          links.children.map((child_digest) => ({
            repository_id: repositoryId,
            manifest_digest,
            child_digest,
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  /** The manifest `digest` of repository `repositoryId`, or undefined. */
  async get(repositoryId: number, digest: string): Promise<ManifestRecord | undefined> {
    const row = await this.db
      .selectFrom('manifests')
      .selectAll()
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** Deletes manifest `digest` (its tags and reference rows go with it); true when it existed. */
  async delete(repositoryId: number, digest: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('manifests')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Which of `digests` are not manifests of repository `repositoryId`. */
  async missing(repositoryId: number, digests: string[]): Promise<string[]> {
    if (digests.length === 0) return [];
    const rows = await this.db
      .selectFrom('manifests')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .where('digest', 'in', digests)
      .execute();
    const held = new Set(rows.map((r) => r.digest));
    return digests.filter((d) => !held.has(d));
  }

  /** Manifests of repository `repositoryId` whose subject is `subject`, optionally of one artifact type. */
  async referrers(
    repositoryId: number,
    subject: string,
    artifactType?: string,
  ): Promise<ManifestRecord[]> {
    let q = this.db
      .selectFrom('manifests')
      .selectAll()
      .where('repository_id', '=', repositoryId)
      .where('subject', '=', subject)
      .orderBy('created_at')
      .orderBy('digest');
    if (artifactType !== undefined) q = q.where('artifact_type', '=', artifactType);
    return (await q.execute()).map(toRecord);
  }

  /** Every manifest of repository `repositoryId` with a subject and one of `artifactTypes`. */
  async referrersOfTypes(
    repositoryId: number,
    artifactTypes: string[],
  ): Promise<{ digest: string; subject: string; artifactType: string }[]> {
    const rows = await this.db
      .selectFrom('manifests')
      .select(['digest', 'subject', 'artifact_type'])
      .where('repository_id', '=', repositoryId)
      .where('subject', 'is not', null)
      .where('artifact_type', 'in', artifactTypes)
      .execute();
    return rows.map((r) => ({
      digest: r.digest,
      subject: r.subject!,
      artifactType: r.artifact_type!,
    }));
  }

  /** Digests of the indexes in repository `repositoryId` that list manifest `digest`. */
  async parentsOf(repositoryId: number, digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('manifest_children')
      .select('manifest_digest')
      .where('repository_id', '=', repositoryId)
      .where('child_digest', '=', digest)
      .execute();
    return rows.map((r) => r.manifest_digest);
  }
}
