/**
 * Relaxed statements: an autocommitted write that need not be durable skips its commit's sync,
 * and nothing else does — not the statements around it, not the same write inside a transaction.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { withStatementCache } from '../../src/meta/index.js';

describe('relaxed statements', () => {
  it('skip the sync for their own autocommit only, and restore the setting', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-relaxed-'));
    const sqlite = new SQLite(path.join(dir, 'db'));
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    const settings: string[] = [];
    const pragma = sqlite.pragma.bind(sqlite);
    sqlite.pragma = ((source: string, options?: SQLite.PragmaOptions) => {
      if (source.startsWith('synchronous =')) settings.push(source);
      return pragma(source, options);
    }) as typeof sqlite.pragma;
    // The level in force while each insert runs (what its commit obeys).
    const levels: number[] = [];
    const prepare = sqlite.prepare.bind(sqlite);
    sqlite.prepare = ((source: string) => {
      const statement = prepare(source);
      if (!source.startsWith('insert into')) return statement;
      const run = statement.run.bind(statement);
      statement.run = ((...args: unknown[]) => {
        levels.push(pragma('synchronous', { simple: true }) as number);
        return run(...(args as []));
      }) as typeof statement.run;
      return statement;
    }) as typeof sqlite.prepare;
    const db = new Kysely<{ notes: { text: string } }>({
      dialect: new SqliteDialect({
        database: withStatementCache(sqlite, {
          relaxed: (text) => text.startsWith('insert into "notes"'),
          synchronous: 'FULL',
        }),
      }),
    });
    try {
      await sql`create table notes (text text)`.execute(db);
      await db.insertInto('notes').values({ text: 'relaxed' }).execute();
      assert.deepEqual(settings, ['synchronous = OFF', 'synchronous = FULL']);
      assert.deepEqual(levels, [0], 'OFF while the relaxed insert commits');
      assert.equal(pragma('synchronous', { simple: true }), 2, 'FULL again after it');
      // Again: the setting must take effect every time, not only the first.
      await db.insertInto('notes').values({ text: 'relaxed again' }).execute();
      assert.deepEqual(levels, [0, 0]);
      assert.equal(pragma('synchronous', { simple: true }), 2);
      settings.length = 0;
      await db
        .transaction()
        .execute((trx) => trx.insertInto('notes').values({ text: 'in a transaction' }).execute());
      await db.updateTable('notes').set({ text: 'x' }).execute();
      assert.deepEqual(settings, [], 'a transaction or another statement commits durably');
      assert.deepEqual(levels, [0, 0, 2], "a transaction commits at the connection's level");
      assert.equal((await db.selectFrom('notes').selectAll().execute()).length, 3);
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps fixed-shape statements, not multi-row inserts whose text changes with their rows', async () => {
    const sqlite = new SQLite(':memory:');
    let prepared = 0;
    const prepare = sqlite.prepare.bind(sqlite);
    sqlite.prepare = ((source: string) => {
      prepared += 1;
      return prepare(source);
    }) as typeof sqlite.prepare;
    const db = new Kysely<{ notes: { a: number; b: number; c: number; d: number } }>({
      dialect: new SqliteDialect({ database: withStatementCache(sqlite) }),
    });
    try {
      await sql`create table notes (a int, b int, c int, d int)`.execute(db);
      prepared = 0;
      const rows = (count: number) =>
        Array.from({ length: count }, (_, i) => ({ a: i, b: i, c: i, d: i }));
      // One row (4 parameters), twice: prepared once.
      for (let i = 0; i < 2; i += 1) await db.insertInto('notes').values(rows(1)).execute();
      assert.equal(prepared, 1);
      // Ten rows (40 parameters), twice: prepared each time, kept never.
      for (let i = 0; i < 2; i += 1) await db.insertInto('notes').values(rows(10)).execute();
      assert.equal(prepared, 3);
      assert.equal((await db.selectFrom('notes').selectAll().execute()).length, 22);
    } finally {
      await db.destroy();
    }
  });
});
