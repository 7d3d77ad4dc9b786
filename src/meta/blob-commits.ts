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
import { PreparedQuery } from './prepared-query.js';
import type { Database } from './schema.js';

// The SQLite commit's statements, compiled once.
const RECORD_BLOB = new PreparedQuery<{ digest: string; size: number; now: number }>(
  ['digest', 'size', 'now'],
  (db, v) => recordBlobQuery(db, v.digest, v.size, v.now),
);
const LINK_BLOB = new PreparedQuery<{ repositoryId: number; digest: string; now: number }>(
  ['repositoryId', 'digest', 'now'],
  (db, v) => linkBlobQuery(db, v.repositoryId, v.digest, v.now),
);
const FINISH_UPLOAD = new PreparedQuery<{ uploadId: string }>(['uploadId'], (db, v) =>
  db.deleteFrom('uploads').where('id', '=', v.uploadId),
);
const KEEP_INLINE = new PreparedQuery<{ digest: string; content: Buffer }>(
  ['digest', 'content'],
  (db, v) => putInlineBlobQuery(db, v.digest, v.content),
);
const APPEND_EVENT = new PreparedQuery<ReturnType<typeof eventRow>>(
  ['at', 'type', 'repository', 'actor', 'target', 'outcome'],
  (db, v) => db.insertInto('events').values(v),
);

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
    const now = Date.now();
    if (this.dialect === 'sqlite') {
      // SQLite has no writes in WITH; its statements cost no round trip.
      const { digest, size, repositoryId, uploadId, inline } = blob;
      await RECORD_BLOB.run(this.db, { digest, size, now });
      await LINK_BLOB.run(this.db, { repositoryId, digest, now });
      await FINISH_UPLOAD.run(this.db, { uploadId });
      if (inline) await KEEP_INLINE.run(this.db, { digest, content: inline });
      await APPEND_EVENT.run(this.db, eventRow(blob.event));
      return;
    }
    const writes = this.writes(blob, now);
    const event = (db: QueryCreator<Database>) =>
      db.insertInto('events').values(eventRow(blob.event));
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
