/**
 * better-sqlite3 behind Kysely prepares every query anew; this adapter keeps prepared statements
 * by SQL text, so the hot queries are compiled once. Kysely runs one query at a time on the
 * connection, so a cached statement is never used by two queries at once.
 */
import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

const MAX_STATEMENTS = 500;
/**
 * Statements with more parameters than this are prepared for one use and not kept: they are the
 * multi-row inserts (a batch of audit entries or events), whose text changes with their row
 * count, and each shape SQLite compiles holds its own memory (170 shapes of a 7-column insert,
 * 1 to 170 rows, held 12 MiB) for statements that seldom come again.
 */
const MAX_KEPT_PARAMETERS = 32;

/** How many `?` placeholders `sql` has (Kysely passes every value as one). */
function parameterCount(sql: string): number {
  let count = 0;
  for (let i = sql.indexOf('?'); i !== -1; i = sql.indexOf('?', i + 1)) count += 1;
  return count;
}

/**
 * Statements whose autocommitted writes need not be durable before they return: their commit
 * skips the sync (`synchronous = OFF` for that one statement, set and reset in the same
 * synchronous call, so nothing else runs in between), and the next durable commit syncs it with
 * its own. Inside a transaction they are left alone: the transaction's commit decides.
 */
export interface StatementCacheOptions {
  relaxed?: (sql: string) => boolean;
  /** The connection's own `synchronous` setting, restored after a relaxed write. */
  synchronous?: 'FULL' | 'NORMAL';
}

/** `statement`, whose autocommitted runs skip the commit's sync. */
function relaxedStatement(
  sqlite: SQLite.Database,
  statement: SqliteStatement,
  synchronous: string,
): SqliteStatement {
  return {
    reader: statement.reader,
    all: (parameters) => statement.all(parameters),
    iterate: (parameters) => statement.iterate(parameters),
    run(parameters) {
      if (sqlite.inTransaction) return statement.run(parameters);
      sqlite.pragma('synchronous = OFF');
      try {
        return statement.run(parameters);
      } finally {
        sqlite.pragma(`synchronous = ${synchronous}`);
      }
    },
  };
}

/** A Kysely SQLite database that reuses prepared statements. */
export function withStatementCache(
  sqlite: SQLite.Database,
  options: StatementCacheOptions = {},
): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = sqlite.prepare(sql) as unknown as SqliteStatement;
        if (options.relaxed?.(sql))
          statement = relaxedStatement(sqlite, statement, options.synchronous ?? 'FULL');
        if (parameterCount(sql) > MAX_KEPT_PARAMETERS) return statement;
        if (statements.size >= MAX_STATEMENTS)
          statements.delete(statements.keys().next().value as string);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}
