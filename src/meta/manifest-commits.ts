/**
 * What the transaction that stores a pushed manifest writes once its checks are made: the
 * manifest (unless the repository has it), what it references (only when it was new), its tags
 * and the events. On PostgreSQL these go out as one statement (one round trip instead of four
 * or more).
 */
import { sql, type Kysely } from 'kysely';
import { withWrites, type Write } from './combined-writes.js';
import {
  insertManifestQuery,
  type ManifestLinks,
  type ManifestRecord,
  type ManifestStore,
} from './manifests.js';
import { eventRow, type OutboxEvent, type OutboxStore } from './outbox.js';
import type { Database } from './schema.js';
import { putTagsQuery } from './tags.js';

/** A manifest being stored, and what its commit records. */
export interface StoredManifest {
  repositoryId: number;
  manifest: Omit<ManifestRecord, 'createdAt'>;
  links: ManifestLinks;
  /** Tags pointed at the manifest. */
  tags: string[];
  pushedBy: string | null;
  /** Outbox events recording the push (none for a pull-through cache's copy). */
  events: Omit<OutboxEvent, 'id'>[];
}

/** Writes the rows of a manifest's commit; call it inside a write transaction. */
export class ManifestCommitStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
    private readonly stores: { manifests: ManifestStore; outbox: OutboxStore },
  ) {}

  /** Stores `commit`'s manifest, its references, its tags and its events. */
  async record(commit: StoredManifest): Promise<void> {
    if (this.dialect === 'sqlite') {
      // SQLite has no writes in WITH; its statements cost no round trip.
      const { repositoryId, manifest } = commit;
      await this.stores.manifests.put(repositoryId, manifest, commit.links);
      if (commit.tags.length > 0)
        await putTagsQuery(
          this.db,
          repositoryId,
          commit.tags,
          manifest.digest,
          commit.pushedBy,
        ).execute();
      await this.stores.outbox.appendMany(commit.events);
      return;
    }
    // PostgreSQL: the writes as WITH clauses of a `select 1`; the references are inserted from
    // what the manifest's insert returned (nothing when the repository had it).
    await withWrites(this.db, this.writes(commit))
      .selectNoFrom(sql<number>`1`.as('done'))
      .execute();
  }

  /** The commit's writes, named, for PostgreSQL. */
  private writes(commit: StoredManifest): [string, Write][] {
    const { repositoryId, manifest, links } = commit;
    // Each referenced digest a row, from the manifest's insert: none when it was not new.
    const referenced = (digests: string[]) =>
      sql`select cast(${repositoryId} as integer), "stored"."digest", unnest(cast(${digests} as text[])) from "stored"`;
    const blobLinks: Write = (db) =>
      db
        .insertInto('manifest_blobs')
        .columns(['repository_id', 'manifest_digest', 'blob_digest'])
        .expression(referenced(links.blobs))
        .onConflict((oc) => oc.doNothing());
    const childLinks: Write = (db) =>
      db
        .insertInto('manifest_children')
        .columns(['repository_id', 'manifest_digest', 'child_digest'])
        .expression(referenced(links.children))
        .onConflict((oc) => oc.doNothing());
    const writes: [string, Write][] = [
      ['stored', (db) => insertManifestQuery(db, repositoryId, manifest).returning('digest')],
    ];
    if (links.blobs.length > 0) writes.push(['blob_links', blobLinks]);
    if (links.children.length > 0) writes.push(['child_links', childLinks]);
    if (commit.tags.length > 0)
      writes.push([
        'tagged',
        (db) => putTagsQuery(db, repositoryId, commit.tags, manifest.digest, commit.pushedBy),
      ]);
    if (commit.events.length > 0)
      writes.push([
        'recorded',
        (db) => db.insertInto('events').values(commit.events.map(eventRow)),
      ]);
    return writes;
  }
}
