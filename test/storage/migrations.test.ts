/**
 * Opening a database: a new one is migrated, one already at the latest schema opens with one
 * small query (no migrator run), and one recording a migration this Berth does not know is
 * refused as before.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import SQLite from 'better-sqlite3';
import { openSqliteDatabase } from '../../src/meta/index.js';
import { removeDir, tempDir } from '../helpers/server.js';

describe('opening the embedded database', () => {
  it('migrates a new one, reopens it without the migrator, refuses an unknown migration', async () => {
    const dir = tempDir('migrations');
    const file = path.join(dir, 'berth.db');
    try {
      const first = await openSqliteDatabase(file);
      const applied = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute(
        first.db,
      );
      assert.ok(applied.rows[0]!.n > 10);
      await first.close();

      // Reopening runs no migrator: its lock table, emptied here, is left alone.
      const raw = new SQLite(file);
      raw.exec('delete from kysely_migration_lock');
      raw.close();
      const again = await openSqliteDatabase(file);
      await again.close();
      const check = new SQLite(file, { readonly: true });
      assert.equal(
        (check.prepare('select count(*) as n from kysely_migration_lock').get() as { n: number }).n,
        0,
      );
      check.close();

      const newer = new SQLite(file);
      newer
        .prepare('insert into kysely_migration (name, timestamp) values (?, ?)')
        .run('9999-from-a-newer-berth', new Date().toISOString());
      newer.close();
      await assert.rejects(openSqliteDatabase(file), /database migration failed: .*9999/);
    } finally {
      removeDir(dir);
    }
  });

  it('sets its page cache: 4 MiB by default (not the 16 of the SQLite build), or as configured', async () => {
    const dir = tempDir('sqlite-cache');
    const file = path.join(dir, 'berth.db');
    try {
      const cacheSize = async (cacheBytes?: number) => {
        const opened = await openSqliteDatabase(file, 'full', cacheBytes);
        try {
          const rows = await sql<{ cache_size: number }>`pragma cache_size`.execute(opened.db);
          return rows.rows[0]!.cache_size;
        } finally {
          await opened.close();
        }
      };
      assert.equal(await cacheSize(), -4096, 'KiB');
      assert.equal(await cacheSize(32 << 20), -32768);
    } finally {
      removeDir(dir);
    }
  });
});
