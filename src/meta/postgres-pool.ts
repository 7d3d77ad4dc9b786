/**
 * A PostgreSQL pool for Kysely that does not hand a request a connection the server has already
 * ended. The pool only hears that a server ended a connection (a restart, a failover, an
 * administrator's pg_terminate_backend) when the socket's close is read, so on a busy process it
 * can lend out a dead connection first; a statement that meets one is run again, once, on a fresh
 * connection when running it again cannot do anything twice.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { rememberBounded } from '../kit/index.js';

/** SQLSTATEs of a backend the server ended: admin_shutdown, crash_shutdown, cannot_connect_now. */
const SERVER_ENDED = new Set(['57P01', '57P02', '57P03']);

/** True when `err` says the connection is gone, not that the statement was wrong. */
export function isConnectionEnded(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && SERVER_ENDED.has(code)) return true;
  return /Connection terminated|not queryable|ECONNRESET|EPIPE/.test(err.message);
}

/** True when the statement was certainly not run: the server ended the backend or the client refused to send. */
function certainlyNotRun(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    (typeof code === 'string' && SERVER_ENDED.has(code)) ||
    (err instanceof Error && /not queryable/.test(err.message))
  );
}

const READ_ONLY = /^\s*(select|with\s[^;]*\)\s*select|show)\b/i;
const BEGINS = /^\s*(begin|start\s+transaction)\b/i;
const ENDS = /^\s*(commit|rollback|end)\s*;?\s*$/i;

/**
 * Statements with more parameters than this are sent unnamed: the multi-row inserts (a batch of
 * audit entries or events), whose text changes with their row count.
 */
const MAX_NAMED_PARAMETERS = 32;
/** Statement names kept by SQL text (the texts Berth sends are a few hundred). */
const MAX_NAMES = 2_000;
const statementNames = new Map<string, string | null>();

/**
 * The name a statement is prepared under on each connection, or null to send it unnamed: those
 * without parameters (`begin`, `commit`, the advisory lock: simple queries), the multi-row ones,
 * and those whose result columns are `*` (a prepared `select *` fails once a migration by a newer
 * replica adds a column: "cached plan must not change result type").
 */
function statementName(sql: string, parameters: number): string | null {
  if (parameters === 0 || parameters > MAX_NAMED_PARAMETERS) return null;
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = /\*/.test(sql.replace(/count\(\*\)/gi, ''))
      ? null
      : `berth_${createHash('sha1').update(sql).digest('base64url').slice(0, 20)}`;
    rememberBounded(statementNames, sql, name, MAX_NAMES);
  }
  return name;
}

/**
 * Sends `sql` on `client`: as a named statement where `prepared` and `statementName` allow, which
 * the server parses once per connection (and plans generically after five runs) instead of at
 * every run — a third of its time for Berth's short statements.
 */
function send(
  client: PoolClient,
  sql: string,
  parameters: ReadonlyArray<unknown>,
  prepared: boolean,
): Promise<unknown> {
  const name = prepared ? statementName(sql, parameters.length) : null;
  if (name === null) return client.query(sql, [...parameters]);
  const config: QueryConfig = { name, text: sql, values: [...parameters] };
  return client.query(config);
}

/** A lent-out connection that swaps itself for a fresh one when its first use finds it dead. */
class ResilientClient implements PostgresPoolClient {
  private inTransaction = false;
  /** A `begin` not sent yet: it goes with the transaction's first statement, in one round trip. */
  private beginDeferred = false;

  constructor(
    private readonly pool: Pool,
    private inner: PoolClient,
    private readonly prepared: boolean,
    private readonly relaxed?: (sql: string) => boolean,
    private readonly lane?: Pool,
  ) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sqlOrCursor: string | PostgresCursor<R>,
    parameters?: ReadonlyArray<unknown>,
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sqlOrCursor !== 'string') return this.inner.query(sqlOrCursor as never);
    return this.withBegin(sqlOrCursor, parameters ?? []) as Promise<PostgresQueryResult<R>>;
  }

  /**
   * Holds a plain `begin` back until the transaction's first statement, and sends both as one
   * simple query when that statement has no parameters (a write transaction's advisory lock):
   * one round trip fewer for each.
   */
  private async withBegin(sql: string, parameters: ReadonlyArray<unknown>): Promise<unknown> {
    if (!this.inTransaction && !this.beginDeferred && /^begin$/i.test(sql)) {
      this.beginDeferred = true;
      return { command: 'BEGIN', rowCount: null, rows: [] };
    }
    if (!this.beginDeferred) return this.run(sql, parameters);
    this.beginDeferred = false;
    // Ended before any statement: nothing was begun.
    if (ENDS.test(sql)) return { command: sql.trim().toUpperCase(), rowCount: null, rows: [] };
    if (parameters.length > 0) {
      await this.run('begin', []);
      return this.run(sql, parameters);
    }
    const results = await this.run(`begin; ${sql}`, []);
    return Array.isArray(results) ? results[results.length - 1] : results;
  }

  private async run(sql: string, parameters: ReadonlyArray<unknown>): Promise<unknown> {
    if (!this.inTransaction && this.relaxed?.(sql)) return this.relaxedCommit(sql, parameters);
    const starts = BEGINS.test(sql);
    try {
      const result = await send(this.inner, sql, parameters, this.prepared);
      this.track(sql, starts);
      return result;
    } catch (err) {
      // Inside a transaction the statements before this one died with the connection: the caller's
      // transaction fails as a whole. Outside one (or at its `begin`), run it again when that is safe.
      const again =
        !this.inTransaction &&
        isConnectionEnded(err) &&
        (starts || READ_ONLY.test(sql) || certainlyNotRun(err));
      if (!again) throw err;
      this.inner.release(err as Error);
      this.inner = await this.pool.connect();
      const result = await send(this.inner, sql, parameters, this.prepared);
      this.track(sql, starts);
      return result;
    }
  }

  /**
   * Runs `sql` in a transaction of its own whose commit does not wait for the WAL to reach the
   * disk (`synchronous_commit = off`: a crash may lose it, never corrupt anything): one round
   * trip more than a plain statement, and no wait for the disk.
   */
  private async relaxedCommit(sql: string, parameters: ReadonlyArray<unknown>): Promise<unknown> {
    if (this.lane) return this.onLane(this.lane, sql, parameters);
    await this.run('begin; set local synchronous_commit to off', []);
    try {
      const result = await send(this.inner, sql, parameters, this.prepared);
      await this.run('commit', []);
      return result;
    } catch (err) {
      this.inTransaction = false;
      await this.inner.query('rollback').catch(() => undefined);
      throw err;
    }
  }

  /**
   * Runs `sql` on a connection of `lane`, whose sessions commit without waiting for the disk: the
   * statement commits on its own in one round trip. Run again on a fresh connection, once, when
   * the server certainly did not run it.
   */
  private async onLane(
    lane: Pool,
    sql: string,
    parameters: ReadonlyArray<unknown>,
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt += 1) {
      const client = await lane.connect();
      try {
        const result = await send(client, sql, parameters, this.prepared);
        client.release();
        return result;
      } catch (err) {
        const ended = isConnectionEnded(err);
        client.release(ended ? (err as Error) : undefined);
        if (!ended || !certainlyNotRun(err) || attempt > 0) throw err;
      }
    }
  }

  private track(sql: string, starts: boolean): void {
    if (starts) this.inTransaction = true;
    else if (ENDS.test(sql)) this.inTransaction = false;
  }

  release(destroy?: boolean): void {
    this.beginDeferred = false;
    this.inner.release(destroy);
  }
}

/**
 * Wraps a pg pool so Kysely's statements outside transactions survive connections the server
 * ended; statements outside transactions that `relaxed` names commit without waiting for the disk:
 * on `lane` when given (a pool whose sessions set `synchronous_commit = off`: one round trip),
 * else in a transaction of their own that sets it (three). With `prepared` (the default),
 * statements with parameters are sent as named prepared statements (see `send`); off for a
 * connection pooler that hands one session's statements to several servers' sessions (PgBouncer
 * in transaction mode before 1.21).
 */
export function resilientPool(
  pool: Pool,
  relaxed?: (sql: string) => boolean,
  lane?: Pool,
  prepared = true,
): PostgresPool {
  return {
    connect: async () => new ResilientClient(pool, await pool.connect(), prepared, relaxed, lane),
    end: async () => {
      await Promise.all([pool.end(), lane?.end()]);
    },
  };
}
