/**
 * The queries garbage collection runs. Each condition is written once, as SQL over a fixed alias,
 * and used both to find candidates and, again, inside the deleting statement, so a deletion
 * re-checks exactly what the search checked.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema.js';

/** Something of one repository (a manifest, or a link to a blob) that garbage collection may remove. */
export interface RepositoryItem {
  repositoryId: number;
  repository: string;
  digest: string;
}

/** Conditions on a manifest aliased `m`. */
const MANIFEST_UNTAGGED = sql<boolean>`not exists (select 1 from tags t where t.repository_id = m.repository_id and t.manifest_digest = m.digest)`;
const MANIFEST_NOT_IN_INDEX = sql<boolean>`not exists (select 1 from manifest_children c where c.repository_id = m.repository_id and c.child_digest = m.digest)`;
/** A tag retention removed is restorable until its restore window ends: its manifest stays. */
const MANIFEST_NOT_IN_TRASH = sql<boolean>`not exists (select 1 from retention_trash rt where rt.repository_id = m.repository_id and rt.digest = m.digest)`;
const MANIFEST_SUBJECT_GONE = sql<boolean>`(m.subject is null or not exists (select 1 from manifests s where s.repository_id = m.repository_id and s.digest = m.subject))`;
/** Condition on a repository blob link aliased `l`. */
const LINK_UNUSED = sql<boolean>`not exists (select 1 from manifest_blobs mb where mb.repository_id = l.repository_id and mb.blob_digest = l.digest)`;
/** Conditions on a blob aliased `b`. */
const BLOB_UNLINKED = sql<boolean>`not exists (select 1 from repository_blobs l where l.digest = b.digest)`;
const BLOB_UNREFERENCED = sql<boolean>`not exists (select 1 from manifest_blobs mb where mb.blob_digest = b.digest)`;

const UNREFERENCED_MANIFEST: RawBuilder<boolean>[] = [
  MANIFEST_UNTAGGED,
  MANIFEST_NOT_IN_INDEX,
  MANIFEST_NOT_IN_TRASH,
  MANIFEST_SUBJECT_GONE,
];
const ORPHAN_BLOB: RawBuilder<boolean>[] = [BLOB_UNLINKED, BLOB_UNREFERENCED];

function deleted(result: { numDeletedRows: bigint }): boolean {
  return Number(result.numDeletedRows) > 0;
}

/** Finds and removes unreferenced content. */
export class GcQueries {
  constructor(private readonly db: Kysely<Database>) {}

  /** Manifests older than `before` with no tag, no parent index in their repository and no live subject. */
  async untaggedManifests(before: number): Promise<RepositoryItem[]> {
    let q = this.db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['m.repository_id as repositoryId', 'r.name as repository', 'm.digest'])
      .where('m.created_at', '<', before);
    for (const condition of UNREFERENCED_MANIFEST) q = q.where(condition);
    return q.execute();
  }

  /** Deletes a manifest if it is still old and unreferenced; true when deleted. */
  async deleteUntaggedManifest(c: RepositoryItem, before: number): Promise<boolean> {
    let q = this.db
      .deleteFrom('manifests as m')
      .where('m.repository_id', '=', c.repositoryId)
      .where('m.digest', '=', c.digest)
      .where('m.created_at', '<', before);
    for (const condition of UNREFERENCED_MANIFEST) q = q.where(condition);
    return deleted(await q.executeTakeFirstOrThrow());
  }

  /** Blob links older than `before` that no manifest of their repository references. */
  async unusedLinks(before: number): Promise<RepositoryItem[]> {
    return this.db
      .selectFrom('repository_blobs as l')
      .innerJoin('repositories as r', 'r.id', 'l.repository_id')
      .select(['l.repository_id as repositoryId', 'r.name as repository', 'l.digest'])
      .where('l.created_at', '<', before)
      .where(LINK_UNUSED)
      .execute();
  }

  /** Deletes a blob link if it is still old and unused; true when deleted. */
  async deleteUnusedLink(c: RepositoryItem, before: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('repository_blobs as l')
      .where('l.repository_id', '=', c.repositoryId)
      .where('l.digest', '=', c.digest)
      .where('l.created_at', '<', before)
      .where(LINK_UNUSED)
      .executeTakeFirstOrThrow();
    return deleted(result);
  }

  /** Blobs older than `before` that no repository holds and no manifest references. */
  async orphanBlobs(before: number): Promise<{ digest: string; size: number }[]> {
    let q = this.db
      .selectFrom('blobs as b')
      .select(['b.digest', 'b.size'])
      .where('b.created_at', '<', before);
    for (const condition of ORPHAN_BLOB) q = q.where(condition);
    return (await q.execute()).map((r) => ({ digest: r.digest, size: Number(r.size) }));
  }

  /** Deletes a blob row if it is still old and orphaned; true when deleted. */
  async deleteOrphanBlob(digest: string, before: number): Promise<boolean> {
    let q = this.db
      .deleteFrom('blobs as b')
      .where('b.digest', '=', digest)
      .where('b.created_at', '<', before);
    for (const condition of ORPHAN_BLOB) q = q.where(condition);
    return deleted(await q.executeTakeFirstOrThrow());
  }

  /**
   * How many transactions have moved a blob's bytes aside so far. A commit that reads the same
   * count before writing its blob and inside its own transaction knows no removal (serialized
   * with it by the write lock) can have taken the bytes in between.
   */
  async removals(): Promise<number> {
    const row = await this.db
      .selectFrom('blob_removals')
      .select('count')
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Counts a removal: called inside the transaction that moves a blob's bytes aside. */
  async countRemoval(): Promise<void> {
    await this.db
      .updateTable('blob_removals')
      .set((eb) => ({ count: eb('count', '+', 1) }))
      .where('id', '=', 1)
      .execute();
  }

  /** True when blob `digest` has a row. */
  async blobKnown(digest: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('blobs')
      .select('digest')
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row !== undefined;
  }
}
