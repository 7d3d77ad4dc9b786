/** Upload sessions: which repository each belongs to and how many bytes are durably written. */
import { sql, type Kysely } from 'kysely';
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
      await this.db
        .insertInto('uploads')
        .values({
          id,
          repository_id: repositoryId,
          owner,
          size: 0,
          created_at: now,
          updated_at: now,
        })
        .execute();
      return true;
    }
    // Typed casts: PostgreSQL cannot infer a parameter's type in a select list.
    const row = this.db
      .selectNoFrom([
        sql<string>`cast(${id} as text)`.as('id'),
        sql<number>`cast(${repositoryId} as integer)`.as('repository_id'),
        sql<string>`cast(${owner} as text)`.as('owner'),
        sql<number>`cast(0 as bigint)`.as('size'),
        sql<number>`cast(${now} as bigint)`.as('created_at'),
        sql<number>`cast(${now} as bigint)`.as('updated_at'),
      ])
      .where(
        (eb) =>
          eb.selectFrom('uploads').select(eb.fn.countAll().as('open')).where('owner', '=', owner),
        '<',
        maxSessions,
      );
    const result = await this.db
      .insertInto('uploads')
      .columns(['id', 'repository_id', 'owner', 'size', 'created_at', 'updated_at'])
      .expression(row)
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
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
    const row = await this.db
      .selectFrom('uploads')
      .innerJoin('repositories', 'repositories.id', 'uploads.repository_id')
      .select([
        'uploads.id',
        'uploads.repository_id',
        'uploads.owner',
        'repositories.name',
        'uploads.size',
        'uploads.created_at',
        'uploads.updated_at',
        'uploads.held',
        'uploads.hash_state',
      ])
      .select((eb) =>
        eb
          .selectFrom('uploads as mine')
          .select((mine) => mine.fn.sum<number | string>('mine.size').as('bytes'))
          .whereRef('mine.owner', '=', 'uploads.owner')
          .as('owner_bytes'),
      )
      .where('uploads.id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
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

  /**
   * Records progress: the new size and, when the row holds them, all the upload's bytes (null:
   * the store holds them), with the running hash's state when saved (null: none). Not synced:
   * see notDurableWrite in database.ts.
   */
  async advance(
    id: string,
    size: number,
    held: Buffer | null = null,
    hashState: Buffer | null = null,
  ): Promise<void> {
    await this.db
      .updateTable('uploads')
      .set({ size, updated_at: Date.now(), held, hash_state: hashState })
      .where('id', '=', id)
      .execute();
  }

  /** Forgets upload `id`. */
  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  /** Ids of uploads idle since before `before` (ms). */
  async idleSince(before: number): Promise<string[]> {
    return (
      await this.db.selectFrom('uploads').select('id').where('updated_at', '<', before).execute()
    ).map((r) => r.id);
  }

  /** Ids of every upload. */
  async allIds(): Promise<Set<string>> {
    return new Set((await this.db.selectFrom('uploads').select('id').execute()).map((r) => r.id));
  }
}
