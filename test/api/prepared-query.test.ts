/**
 * Statements compiled once (`PreparedQuery`): the same SQL Kysely compiles from the values, new
 * values at every run (none kept from the first), inside a transaction and rolled back with it,
 * on the embedded SQLite and, with `BERTH_TEST_DB=postgres`, on PostgreSQL.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  Meta,
  openPostgresDatabase,
  openSqliteDatabase,
  PreparedQuery,
  type OpenDatabase,
} from '../../src/meta/index.js';
import { dropPostgres, freshPostgresUrl } from '../helpers/in-process.js';
import { removeDir, tempDir } from '../helpers/server.js';

describe('statements compiled once', () => {
  const dir = tempDir('prepared');
  let url: string | undefined;
  let database: OpenDatabase;
  let meta: Meta;
  before(async () => {
    url = await freshPostgresUrl();
    database = url
      ? await openPostgresDatabase(url)
      : await openSqliteDatabase(path.join(dir, 'berth.db'));
    meta = new Meta(database.db, database.dialect);
  });
  after(async () => {
    await database.close();
    if (url) await dropPostgres(url);
    removeDir(dir);
  });

  const byName = new PreparedQuery<{ name: string }>(['name'], (db, v) =>
    db.selectFrom('repositories').select(['id', 'name']).where('name', '=', v.name),
  );

  it('compiles to the SQL Kysely makes from the values themselves', () => {
    const direct = database.db
      .selectFrom('repositories')
      .select(['id', 'name'])
      .where('name', '=', 'x/y')
      .compile();
    assert.equal(byName.sqlFor(database.db), direct.sql);
  });

  it('runs with each call’s own values, not the first call’s', async () => {
    const a = await meta.writeTransaction((m) => m.repositories.ensure('prepared/a'));
    const b = await meta.writeTransaction((m) => m.repositories.ensure('prepared/b'));
    const rows = async (name: string) =>
      (await byName.run<{ id: number }>(database.db, { name })).rows.map((r) => Number(r.id));
    assert.deepEqual(await rows('prepared/a'), [a]);
    assert.deepEqual(await rows('prepared/b'), [b]);
    assert.deepEqual(await rows('prepared/none'), []);
  });

  it('creates and reads uploads through its statements, the session limit counted per owner', async () => {
    const repository = await meta.writeTransaction((m) => m.repositories.ensure('prepared/up'));
    assert.equal(await meta.uploads.create('u-none', repository), true);
    assert.equal(await meta.uploads.create('u-1', repository, 'alice', 2), true);
    assert.equal(await meta.uploads.create('u-2', repository, 'alice', 2), true);
    assert.equal(await meta.uploads.create('u-3', repository, 'alice', 2), false);
    assert.equal(await meta.uploads.create('u-4', repository, 'bob', 2), true);
    await meta.uploads.advance('u-1', 700);
    const one = await meta.uploads.get('u-1');
    assert.equal(one?.owner, 'alice');
    assert.equal(one?.repository, 'prepared/up');
    assert.equal(one?.ownerBytes, 700);
    assert.equal((await meta.uploads.get('u-none'))?.owner, null);
    assert.equal(await meta.uploads.get('u-3'), undefined);
    assert.equal((await meta.uploads.get('u-4'))?.owner, 'bob');
  });

  it('runs in a transaction and is rolled back with it', async () => {
    const repository = await meta.writeTransaction((m) => m.repositories.ensure('prepared/tx'));
    await assert.rejects(
      meta.writeTransaction(async (m) => {
        await m.uploads.create('u-rolled-back', repository);
        assert.ok(await m.uploads.get('u-rolled-back'));
        throw new Error('abandon');
      }),
      /abandon/,
    );
    assert.equal(await meta.uploads.get('u-rolled-back'), undefined);
  });

  it('refuses a statement whose text leaves a named value out', () => {
    const careless = new PreparedQuery<{ name: string; unused: string }>(
      ['name', 'unused'],
      (db, v) => db.selectFrom('repositories').select('id').where('name', '=', v.name),
    );
    assert.throws(() => careless.sqlFor(database.db), /unused never reached its SQL/);
  });
});
