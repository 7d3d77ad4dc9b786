/** Opening the database and bringing its schema up to date. */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { BerthMigrations } from './migrations.js';
import { withStatementCache } from './statement-cache.js';
import type { Database } from './schema.js';

/** An open database handle. */
export interface OpenDatabase {
  db: Kysely<Database>;
  close(): Promise<void>;
}

/** How SQLite makes commits durable: `full` syncs every commit, `normal` survives process crashes only. */
export type SqliteSynchronous = 'full' | 'normal';

/** Opens (creating if needed) the embedded SQLite database at `file`, in WAL mode, migrated. */
export async function openSqliteDatabase(
  file: string,
  synchronous: SqliteSynchronous = 'full',
): Promise<OpenDatabase> {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 15000');
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite) }),
  });
  const migrator = new Migrator({ db, provider: new BerthMigrations('sqlite') });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    throw new Error(`database migration failed: ${(error as Error).message}`, { cause: error });
  }
  return { db, close: () => db.destroy() };
}
