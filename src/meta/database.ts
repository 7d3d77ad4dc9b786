/** Opening the database and bringing its schema up to date. */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { BerthMigrations } from './migrations.js';
import { withStatementCache } from './statement-cache.js';
import { resilientPool } from './postgres-pool.js';
import type { Database } from './schema.js';
import { DEFAULT_SQLITE_CACHE_BYTES } from '../config/index.js';

/** An open database handle. */
export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

/**
 * Whether every migration `provider` knows is recorded as done: one small query, where Kysely's
 * migrator would first read the metadata of every table (tens of milliseconds at each start).
 */
async function migrated(db: Kysely<Database>, provider: BerthMigrations): Promise<boolean> {
  const known = Object.keys(await provider.getMigrations());
  try {
    const done = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    const names = new Set(done.rows.map((r) => r.name));
    // Anything else (a migration unknown here too) is the migrator's to judge and refuse.
    return names.size === known.length && known.every((name) => names.has(name));
  } catch {
    return false; // no migration table yet: a new database
  }
}

async function migrate(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const provider = new BerthMigrations(dialect);
  if (await migrated(db, provider)) return;
  const migrator = new Migrator({ db, provider });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    throw new Error(`database migration failed: ${(error as Error).message}`, { cause: error });
  }
}

/** The PostgreSQL driver, loaded only when a database URL is configured (it costs start-up time). */
async function loadPg(): Promise<typeof import('pg').default> {
  const pg = (await import('pg')).default;
  // bigint and numeric columns come back as JavaScript numbers (every such value Berth stores —
  // times in ms, sizes, counts — is below 2^53).
  pg.types.setTypeParser(20, (v) => Number(v));
  pg.types.setTypeParser(1700, (v) => Number(v));
  return pg;
}

/**
 * Opens the PostgreSQL database at `url` (`postgres://user:pass@host:port/db`) through a
 * connection pool of `poolSize`, migrated to the latest schema (migrations take an advisory lock,
 * so replicas starting together migrate once).
 */
export async function openPostgresDatabase(
  url: string,
  poolSize = 10,
  /** Told when the server ends a pooled connection (a restart, a failover, an administrator). */
  onConnectionError: (err: Error) => void = () => undefined,
  /** Named prepared statements (see `resilientPool`). */
  preparedStatements = true,
): Promise<OpenDatabase> {
  const pg = await loadPg();
  const pool = new pg.Pool({ connectionString: url, max: poolSize, idleTimeoutMillis: 30_000 });
  // The writes `notDurableWrite` names go through two connections of their own whose sessions
  // commit without waiting for the disk: one round trip each instead of three.
  const lane = new pg.Pool({
    connectionString: url,
    max: 2,
    idleTimeoutMillis: 30_000,
    options: '-c synchronous_commit=off',
  });
  // A connection the server ends (idle in the pool or lent out between queries) would otherwise
  // end the process with an unhandled 'error'; the pool drops it and opens a new one when needed.
  for (const p of [pool, lane]) {
    p.on('connect', (client) => client.on('error', onConnectionError));
    p.on('error', () => undefined); // the client's own listener has logged it
  }
  // The pool may still lend out a connection the server ended before it heard of it: statements
  // that can safely run again do so on a fresh connection.
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: resilientPool(pool, notDurableWrite, lane, preparedStatements),
    }),
  });
  await migrate(db, 'postgres');
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

/**
 * Writes that may be lost to a power failure without losing anything a client was told is
 * stored: a new upload session (the client would restart an upload it never finished) and an
 * upload's progress (its bytes are synced only at commit anyway; a shorter recorded size is
 * answered as the offset to resume from), and the claims on an upload's next write (a claim a
 * crash forgets is one no write finished under). Their commits do not wait for the disk (SQLite:
 * `synchronous = OFF` for the statement; PostgreSQL: a connection whose session has
 * `synchronous_commit = off`); the next durable commit (the blob's) carries them.
 */
function notDurableWrite(sql: string): boolean {
  return (
    sql.startsWith('insert into "uploads" ') ||
    sql.startsWith('update "uploads" set "size" = ') ||
    sql.startsWith('update "uploads" set "append_token" = ')
  );
}

/** How SQLite makes commits durable: `full` syncs every commit, `normal` survives process crashes only. */
export type SqliteSynchronous = 'full' | 'normal';

/**
 * Opens (creating if needed) the embedded SQLite database at `file`, in WAL mode, migrated, with a
 * page cache of `cacheBytes`.
 */
export async function openSqliteDatabase(
  file: string,
  synchronous: SqliteSynchronous = 'full',
  cacheBytes: number = DEFAULT_SQLITE_CACHE_BYTES,
): Promise<OpenDatabase> {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 15000');
  // SQLite counts a negative cache size in KiB.
  sqlite.pragma(`cache_size = ${-Math.max(1, Math.floor(cacheBytes / 1024))}`);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({
      database: withStatementCache(sqlite, {
        relaxed: notDurableWrite,
        synchronous: synchronous === 'normal' ? 'NORMAL' : 'FULL',
      }),
    }),
  });
  await migrate(db, 'sqlite');
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}
