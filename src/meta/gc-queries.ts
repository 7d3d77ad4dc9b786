/** The queries garbage collection runs; each deletion re-checks its condition as it deletes. */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A manifest that garbage collection may remove. */
export interface ManifestCandidate {
  repositoryId: number;
  repository: string;
  digest: string;
}

/** A repository's link to a blob that no manifest of that repository uses. */
export interface LinkCandidate {
  repositoryId: number;
  repository: string;
  digest: string;
}

/** Finds and removes unreferenced content. */
export class GcQueries {
  constructor(private readonly db: Kysely<Database>) {}

  /** Manifests older than `before` with no tag, no parent index in their repository and no live subject. */
  async untaggedManifests(before: number): Promise<ManifestCandidate[]> {
    const rows = await this.db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['m.repository_id', 'r.name', 'm.digest'])
      .where('m.created_at', '<', before)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('tags as t')
              .select('t.name')
              .whereRef('t.repository_id', '=', 'm.repository_id')
              .whereRef('t.manifest_digest', '=', 'm.digest'),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('manifest_children as c')
              .select('c.child_digest')
              .whereRef('c.repository_id', '=', 'm.repository_id')
              .whereRef('c.child_digest', '=', 'm.digest'),
          ),
        ),
      )
      .where(({ or, eb, not, exists, selectFrom }) =>
        or([
          eb('m.subject', 'is', null),
          not(
            exists(
              selectFrom('manifests as s')
                .select('s.digest')
                .whereRef('s.repository_id', '=', 'm.repository_id')
                .whereRef('s.digest', '=', 'm.subject'),
            ),
          ),
        ]),
      )
      .execute();
    return rows.map((r) => ({
      repositoryId: r.repository_id,
      repository: r.name,
      digest: r.digest,
    }));
  }

  /** Deletes a manifest if it is still untagged and unreferenced; true when deleted. */
  async deleteUntaggedManifest(c: ManifestCandidate): Promise<boolean> {
    const result = await this.db
      .deleteFrom('manifests')
      .where('repository_id', '=', c.repositoryId)
      .where('digest', '=', c.digest)
      .where(
        sql<boolean>`not exists (select 1 from tags t where t.repository_id = ${c.repositoryId} and t.manifest_digest = ${c.digest})`,
      )
      .where(
        sql<boolean>`not exists (select 1 from manifest_children mc where mc.repository_id = ${c.repositoryId} and mc.child_digest = ${c.digest})`,
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Blob links older than `before` that no manifest of their repository references. */
  async unusedLinks(before: number): Promise<LinkCandidate[]> {
    const rows = await this.db
      .selectFrom('repository_blobs as l')
      .innerJoin('repositories as r', 'r.id', 'l.repository_id')
      .select(['l.repository_id', 'r.name', 'l.digest'])
      .where('l.created_at', '<', before)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('manifest_blobs as mb')
              .select('mb.blob_digest')
              .whereRef('mb.repository_id', '=', 'l.repository_id')
              .whereRef('mb.blob_digest', '=', 'l.digest'),
          ),
        ),
      )
      .execute();
    return rows.map((r) => ({
      repositoryId: r.repository_id,
      repository: r.name,
      digest: r.digest,
    }));
  }

  /** Deletes a blob link if it is still old and unused; true when deleted. */
  async deleteUnusedLink(c: LinkCandidate, before: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('repository_blobs')
      .where('repository_id', '=', c.repositoryId)
      .where('digest', '=', c.digest)
      .where('created_at', '<', before)
      .where(
        sql<boolean>`not exists (select 1 from manifest_blobs mb where mb.repository_id = ${c.repositoryId} and mb.blob_digest = ${c.digest})`,
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Blobs older than `before` that no repository holds and no manifest references. */
  async orphanBlobs(before: number): Promise<{ digest: string; size: number }[]> {
    const rows = await this.db
      .selectFrom('blobs as b')
      .select(['b.digest', 'b.size'])
      .where('b.created_at', '<', before)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('repository_blobs as l')
              .select('l.digest')
              .whereRef('l.digest', '=', 'b.digest'),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('manifest_blobs as mb')
              .select('mb.blob_digest')
              .whereRef('mb.blob_digest', '=', 'b.digest'),
          ),
        ),
      )
      .execute();
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
  }

  /** Deletes a blob row if it is still old and orphaned; true when deleted. */
  async deleteOrphanBlob(digest: string, before: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('blobs')
      .where('digest', '=', digest)
      .where('created_at', '<', before)
      .where(sql<boolean>`not exists (select 1 from repository_blobs l where l.digest = ${digest})`)
      .where(
        sql<boolean>`not exists (select 1 from manifest_blobs mb where mb.blob_digest = ${digest})`,
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** True when blob `digest` has a row. */
  async blobKnown(digest: string): Promise<boolean> {
    return (
      (await this.db
        .selectFrom('blobs')
        .select('digest')
        .where('digest', '=', digest)
        .executeTakeFirst()) !== undefined
    );
  }
}
