/** Upload sessions: which repository each belongs to and how many bytes are durably written. */
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import { PreparedQuery } from './prepared-query.js';
import type { Database } from './schema.js';

/** A persisted upload session. */
export interface UploadRecord {
  id: string;
  repositoryId: number;
  repository: string;
  owner: string | null;
  size: number;
  createdAt: number;
  updatedAt: number;
  /**
   * The upload's bytes, all `size` of them, when its row holds them instead of the content store
   * (a small upload, on its way to the small-blob table); undefined when the store holds them.
   */
  held?: Buffer;
  /**
   * The running SHA-256 state of the upload's bytes as of its last recorded append, where the
   * store is shared by several processes (see `RunningDigest.state`); it names how many bytes it
   * covers, which may be fewer than `size` (then it is not to be used).
   */
  hashState?: Buffer;
  /**
   * What all unfinished uploads of `owner` hold, in bytes, read with the row (`get`), so a chunk
   * is checked against the owner's limit without a second query; undefined without an owner.
   */
  ownerBytes?: number;
  /**
   * Set only on a record read with the claim on the upload's next write where several processes
   * share the database (`claimAndGet`): what the writes of every replica share about the upload's
   * storage — the claim's serial, unique and larger than every earlier claim's on this upload, and
   * the content store's record as of the last recorded write, which the store replaces as it
   * writes and `advance` saves (see `ContentStore`'s `UploadNote`).
   */
  note?: { serial: number; record?: Buffer };
}

/** Reads and writes upload sessions. */
export class UploadStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Records a new, empty upload opened by `owner`. With `maxSessions`, only while the owner has
   * fewer uploads open — counted and inserted in one statement, one round trip — and returns
   * whether it was recorded.
   */
  async create(
    id: string,
    repositoryId: number,
    owner: string | null = null,
    maxSessions?: number,
  ): Promise<boolean> {
    const now = Date.now();
    if (owner === null || maxSessions === undefined) {
      await CREATE.run(this.db, { id, repositoryId, owner, now });
      return true;
    }
    const result = await CREATE_UNDER_LIMIT.run(this.db, {
      id,
      repositoryId,
      owner,
      now,
      maxSessions,
    });
    return Number(result.numAffectedRows ?? 0) === 1;
  }

  /** How many uploads `owner` has open (the bytes they hold come with each row: `get`). */
  async openBy(owner: string): Promise<number> {
    const row = await this.db
      .selectFrom('uploads')
      .select((eb) => eb.fn.countAll<number>().as('sessions'))
      .where('owner', '=', owner)
      .executeTakeFirst();
    return Number(row?.sessions ?? 0);
  }

  /** The upload `id`, or undefined. */
  async get(id: string): Promise<UploadRecord | undefined> {
    const { rows } = await GET.run<Parameters<typeof toRecord>[0]>(this.db, { id });
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * Claims the next write of upload `id` for `token` until `until` (ms), unless another claim
   * lasts past `now`, and reads it as `get` does — in one statement: undefined when the upload is
   * unknown or claimed. Not synced (a claim a crash forgets is one no write finished under).
   */
  async claimAndGet(
    id: string,
    token: string,
    now: number,
    until: number,
  ): Promise<UploadRecord | undefined> {
    const { rows } = await CLAIM_AND_GET.run<ClaimedRow>(this.db, { id, token, now, until });
    const row = rows[0];
    if (!row) return undefined;
    const record = toRecord(row);
    record.note = {
      serial: Number(row.claim_serial),
      record: row.store_record ? Buffer.from(row.store_record) : undefined,
    };
    return record;
  }

  /**
   * Records progress: the new size and, when the row holds them, all the upload's bytes (null:
   * the store holds them), with the running hash's state when saved (null: none) and the content
   * store's record (null: none; see `UploadRecord.note`), ending any claim on the upload's write.
   * With `claim`, only for the holder of that claim: whether it still held it (nothing is
   * recorded otherwise). Not synced: see notDurableWrite in database.ts.
   */
  async advance(
    id: string,
    size: number,
    held: Buffer | null = null,
    hashState: Buffer | null = null,
    claim?: string,
    storeRecord: Buffer | null = null,
  ): Promise<boolean> {
    const values = { id, size, now: Date.now(), held, hashState, storeRecord };
    const result =
      claim === undefined
        ? await ADVANCE.run(this.db, values)
        : await ADVANCE_CLAIMED.run(this.db, { ...values, claim });
    return Number(result.numAffectedRows ?? 0) === 1;
  }

  /** Extends `token`'s claim on upload `id` to `until` (ms); whether it still held it. */
  async renewAppend(id: string, token: string, until: number): Promise<boolean> {
    const result = await this.db
      .updateTable('uploads')
      .set({ append_token: token, append_until: until })
      .where('id', '=', id)
      .where('append_token', '=', token)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Ends `token`'s claim on upload `id`, if it still holds it, saving the content store's record
   * as the failed write left it when given (it may have completed what the record named before
   * failing).
   */
  async releaseAppend(id: string, token: string, storeRecord?: Buffer | null): Promise<void> {
    await this.db
      .updateTable('uploads')
      .set({
        append_token: null,
        append_until: null,
        ...(storeRecord === undefined ? {} : { store_record: storeRecord }),
      })
      .where('id', '=', id)
      .where('append_token', '=', token)
      .execute();
  }

  /** Forgets upload `id`. */
  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  /**
   * Ids of uploads idle since before `before` (ms) and not being written: a live claim (see
   * AppendClaims) is a write still going on in some process, however long ago the upload last
   * recorded progress.
   */
  async idleSince(before: number, now = Date.now()): Promise<string[]> {
    return (
      await this.db
        .selectFrom('uploads')
        .select('id')
        .where('updated_at', '<', before)
        .where((eb) => eb.or([eb('append_until', 'is', null), eb('append_until', '<', now)]))
        .execute()
    ).map((r) => r.id);
  }

  /** Ids of every upload. */
  async allIds(): Promise<Set<string>> {
    return new Set((await this.db.selectFrom('uploads').select('id').execute()).map((r) => r.id));
  }
}

/** The columns of an upload's record (with `ownerBytes`). */
const RECORD_COLUMNS = [
  'uploads.id',
  'uploads.repository_id',
  'uploads.owner',
  'repositories.name',
  'uploads.size',
  'uploads.created_at',
  'uploads.updated_at',
  'uploads.held',
  'uploads.hash_state',
] as const;

/** What all unfinished uploads of the row's owner hold (see `UploadRecord.ownerBytes`). */
function ownerBytes(eb: ExpressionBuilder<Database, 'uploads'>) {
  return eb
    .selectFrom('uploads as mine')
    .select((mine) => mine.fn.sum<number | string>('mine.size').as('bytes'))
    .whereRef('mine.owner', '=', 'uploads.owner')
    .as('owner_bytes');
}

/** An upload's record from its row. */
function toRecord(row: {
  id: string;
  repository_id: number;
  owner: string | null;
  name: string;
  size: number | string;
  created_at: number | string;
  updated_at: number | string;
  held: Buffer | null;
  hash_state: Buffer | null;
  owner_bytes: number | string | null;
}): UploadRecord {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    repository: row.name,
    owner: row.owner,
    size: Number(row.size),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    held: row.held ? Buffer.from(row.held) : undefined,
    hashState: row.hash_state ? Buffer.from(row.hash_state) : undefined,
    ownerBytes: row.owner === null ? undefined : Number(row.owner_bytes ?? 0),
  };
}

// The statements every push runs, compiled once (see PreparedQuery).

/** A new, empty upload. */
const CREATE = new PreparedQuery<{
  id: string;
  repositoryId: number;
  owner: string | null;
  now: number;
}>(['id', 'repositoryId', 'owner', 'now'], (db, v) =>
  db.insertInto('uploads').values({
    id: v.id,
    repository_id: v.repositoryId,
    owner: v.owner,
    size: 0,
    created_at: v.now,
    updated_at: v.now,
  }),
);

/** A new, empty upload of `owner`, only while they have fewer than `maxSessions` open. */
const CREATE_UNDER_LIMIT = new PreparedQuery<{
  id: string;
  repositoryId: number;
  owner: string;
  now: number;
  maxSessions: number;
}>(['id', 'repositoryId', 'owner', 'now', 'maxSessions'], (db, v) =>
  db
    .insertInto('uploads')
    .columns(['id', 'repository_id', 'owner', 'size', 'created_at', 'updated_at'])
    .expression(
      // Typed casts: PostgreSQL cannot infer a parameter's type in a select list.
      db
        .selectNoFrom([
          sql<string>`cast(${v.id} as text)`.as('id'),
          sql<number>`cast(${v.repositoryId} as integer)`.as('repository_id'),
          sql<string>`cast(${v.owner} as text)`.as('owner'),
          sql<number>`cast(0 as bigint)`.as('size'),
          sql<number>`cast(${v.now} as bigint)`.as('created_at'),
          sql<number>`cast(${v.now} as bigint)`.as('updated_at'),
        ])
        .where(
          (eb) =>
            eb
              .selectFrom('uploads')
              .select(eb.fn.countAll().as('open'))
              .where('owner', '=', v.owner),
          '<',
          v.maxSessions,
        ),
    ),
);

/** Upload `id` with its repository's name and what its owner's uploads hold. */
const GET = new PreparedQuery<{ id: string }>(['id'], (db, v) =>
  db
    .selectFrom('uploads')
    .innerJoin('repositories', 'repositories.id', 'uploads.repository_id')
    .select(RECORD_COLUMNS)
    .select((eb) => ownerBytes(eb))
    .where('uploads.id', '=', v.id),
);

/** A row `claimAndGet` returns. */
type ClaimedRow = Parameters<typeof toRecord>[0] & {
  claim_serial: number | string;
  store_record: Buffer | null;
};

/** Claims upload `id`'s next write for `token` until `until` unless claimed past `now`. */
const CLAIM_AND_GET = new PreparedQuery<{ id: string; token: string; now: number; until: number }>(
  ['id', 'token', 'now', 'until'],
  (db, v) =>
    db
      .updateTable('uploads')
      .set((eb) => ({
        append_token: v.token,
        append_until: v.until,
        claim_serial: eb('uploads.claim_serial', '+', 1),
      }))
      .from('repositories')
      .whereRef('repositories.id', '=', 'uploads.repository_id')
      .where('uploads.id', '=', v.id)
      .where((eb) =>
        eb.or([eb('uploads.append_until', 'is', null), eb('uploads.append_until', '<', v.now)]),
      )
      .returning(RECORD_COLUMNS)
      .returning((eb) => ownerBytes(eb))
      .returning(['uploads.claim_serial', 'uploads.store_record']),
);

/** An upload's progress (see `UploadStore.advance`). */
type Progress = {
  id: string;
  size: number;
  now: number;
  held: Buffer | null;
  hashState: Buffer | null;
  storeRecord: Buffer | null;
};

const PROGRESS_NAMES = ['id', 'size', 'now', 'held', 'hashState', 'storeRecord'] as const;

function progressUpdate(db: Kysely<Database>, v: Progress) {
  return db
    .updateTable('uploads')
    .set({
      size: v.size,
      updated_at: v.now,
      held: v.held,
      hash_state: v.hashState,
      store_record: v.storeRecord,
      append_token: null,
      append_until: null,
    })
    .where('id', '=', v.id);
}

/** Records an upload's progress. */
const ADVANCE = new PreparedQuery<Progress>(PROGRESS_NAMES, progressUpdate);

/** Records an upload's progress for the holder of claim `claim` only. */
const ADVANCE_CLAIMED = new PreparedQuery<Progress & { claim: string }>(
  [...PROGRESS_NAMES, 'claim'],
  (db, v) => progressUpdate(db, v).where('append_token', '=', v.claim),
);
