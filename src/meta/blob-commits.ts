/**
 * What the transaction that records an uploaded blob writes: the blob, its link to the
 * repository, the end of its upload session, its bytes when the database keeps them, and the
 * event. On PostgreSQL these go out as one statement (one round trip instead of five).
 */
import type { Kysely, QueryCreator } from 'kysely';
import { linkBlobQuery, recordBlobQuery } from './blobs.js';
import { putInlineBlobQuery } from './inline-blobs.js';
import { withWrites, type Write } from './combined-writes.js';
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
    const event = (db: QueryCreator<Database>) =>
      db.insertInto('events').values(eventRow(blob.event));
    if (this.dialect === 'sqlite') {
      // SQLite has no writes in WITH; its statements cost no round trip.
      for (const [, write] of writes) await write(this.db).execute();
      await event(this.db).execute();
      return;
    }
    // PostgreSQL: the writes as WITH clauses of the event's insert; no two write the same row,
    // and the link's foreign key is checked after the blob's row is in.
    await event(withWrites(this.db, writes)).execute();
  }

  /** The commit's writes besides its event, named, each a statement on `db`. */
  private writes(blob: UploadedBlob, now: number) {
    const inline = blob.inline;
    const writes: [string, Write][] = [
      ['recorded', (db) => recordBlobQuery(db, blob.digest, blob.size, now)],
      ['linked', (db) => linkBlobQuery(db, blob.repositoryId, blob.digest, now)],
      ['finished', (db) => db.deleteFrom('uploads').where('id', '=', blob.uploadId)],
    ];
    if (inline) writes.push(['kept', (db) => putInlineBlobQuery(db, blob.digest, inline)]);
    return writes;
  }
}
