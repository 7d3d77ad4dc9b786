/**
 * What the transaction that records an uploaded blob writes: the blob, its link to the
 * repository, the end of its upload session, its bytes when the database keeps them, and the
 * event. On PostgreSQL these go out as one statement (one round trip instead of five).
 */
import type { Kysely, QueryCreator } from 'kysely';
import { linkBlobQuery, recordBlobQuery } from './blobs.js';
import { putInlineBlobQuery } from './inline-blobs.js';
import { eventRow, type OutboxEvent } from './outbox.js';
import type { Database } from './schema.js';

/** A blob whose upload is being committed, and what its commit records. */
export interface UploadedBlob {
  digest: string;
  size: number;
  repositoryId: number;
  /** The upload session the blob came from, ended by the commit. */
  uploadId: string;
  /** A small blob's bytes, kept in the database with its record. */
  inline?: Buffer;
  /** The outbox event that records the upload. */
  event: Omit<OutboxEvent, 'id'>;
}

/** Writes the rows of a blob's commit; call it inside a write transaction. */
export class BlobCommitStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  /**
   * Records `blob` (idempotent: a blob or link already there gets a new time, bytes already
   * there, trashed or not, are written again) and appends its event.
   */
  async record(blob: UploadedBlob): Promise<void> {
    const writes = this.writes(blob, Date.now());
    if (this.dialect === 'sqlite') {
      // SQLite has no writes in WITH; its statements cost no round trip.
      for (const write of writes) await write(this.db).execute();
      await this.db.insertInto('events').values(eventRow(blob.event)).execute();
      return;
    }
    // PostgreSQL: the writes as data-modifying WITH clauses of the event's insert. They share
    // one snapshot, which they may (no two write the same row), and the link's foreign key is
    // checked at the statement's end, after the blob's row is in.
    let creator: QueryCreator<Database> = this.db;
    for (const [i, write] of writes.entries())
      creator = creator.with(`w${i}`, write) as unknown as QueryCreator<Database>;
    await creator.insertInto('events').values(eventRow(blob.event)).execute();
  }

  /** The commit's writes besides its event, each a statement on `db`. */
  private writes(blob: UploadedBlob, now: number) {
    const inline = blob.inline;
    return [
      (db: QueryCreator<Database>) => recordBlobQuery(db, blob.digest, blob.size, now),
      (db: QueryCreator<Database>) => linkBlobQuery(db, blob.repositoryId, blob.digest, now),
      (db: QueryCreator<Database>) => db.deleteFrom('uploads').where('id', '=', blob.uploadId),
      ...(inline
        ? [(db: QueryCreator<Database>) => putInlineBlobQuery(db, blob.digest, inline)]
        : []),
    ];
  }
}
