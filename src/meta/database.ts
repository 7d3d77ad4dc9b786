/** Opening the database and bringing its schema up to date. */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { BerthMigrations } from './migrations.js';
import type { Database } from './schema.js';

/** An open database handle. */
export interface OpenDatabase {
  db: Kysely<Database>;
  close(): Promise<void>;
}

/** Opens (creating if needed) the embedded SQLite database at `file`, in WAL mode, migrated. */
export async function openSqliteDatabase(file: string): Promise<OpenDatabase> {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 15000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const migrator = new Migrator({ db, provider: new BerthMigrations('sqlite') });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    throw new Error(`database migration failed: ${(error as Error).message}`, { cause: error });
  }
  return { db, close: () => db.destroy() };
}
