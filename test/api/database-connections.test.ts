/**
 * PostgreSQL ending Berth's connections, idle or lent out, (a restart, a failover, an administrator's
 * pg_terminate_backend) neither crashes the process nor breaks later requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { waitUntil } from '../helpers/wait.js';
import { resilientPool } from '../../src/meta/index.js';
import { openDatabase } from '../../src/cli/index.js';

const onPostgres = process.env.BERTH_TEST_DB === 'postgres';

/** The SQL of a `query` call's first argument: a text, or a named statement's config. */
const sqlOf = (first: unknown): string =>
  typeof first === 'string' ? first : String((first as { text?: string }).text);

describe(
  'idle PostgreSQL connections ended by the server',
  { skip: !onPostgres && 'runs in the PostgreSQL pass (BERTH_TEST_DB=postgres)' },
  () => {
    let t: TestApp;
    before(async () => (t = await testApp()));
    after(() => t.close());

    it('keeps serving after every pooled connection was terminated', async () => {
      for (let i = 0; i < 5; i += 1)
        assert.equal((await t.app.inject({ method: 'GET', url: '/v2/_catalog' })).statusCode, 200);
      const name = (t.berth.config.database.url ?? '').split('/').pop()!;
      const admin = new pg.Client({ connectionString: `${process.env.BERTH_TEST_PG}/postgres` });
      await admin.connect();
      try {
        const ours = `select count(*)::int as n from pg_stat_activity where datname = $1`;
        // Connections are ended while requests use them, and while they idle in the pool.
        const busy = Promise.all(
          Array.from({ length: 20 }, () =>
            t.app.inject({ method: 'GET', url: '/v2/_catalog' }).catch(() => undefined),
          ),
        );
        await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1`,
          [name],
        );
        await busy;
        // Every connection idles in the pool now; end them all and ask again at once, before
        // the pool can have heard of it: the pool lends out connections the server has ended.
        await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1`,
          [name],
        );
        const answers = await Promise.all(
          Array.from({ length: 10 }, () => t.app.inject({ method: 'GET', url: '/v2/_catalog' })),
        );
        assert.deepEqual(
          answers.map((a) => a.statusCode),
          answers.map(() => 200),
        );
        await waitUntil(
          async () => (await admin.query(ours, [name])).rows[0].n <= 10,
          'the ended connections to be gone',
        );
        for (let i = 0; i < 5; i += 1)
          assert.equal(
            (await t.app.inject({ method: 'GET', url: '/v2/_catalog' })).statusCode,
            200,
          );
      } finally {
        await admin.end();
      }
    });

    it("tells the opener's logger of an idle connection the server ended", async () => {
      // A CLI command passes its stderr logger: a warning on stdout would corrupt `--json`.
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
      const database = await openDatabase(t.berth.config, logger);
      const admin = new pg.Client({ connectionString: `${process.env.BERTH_TEST_PG}/postgres` });
      await admin.connect();
      try {
        await database.meta.accounts.byName('nobody');
        const name = (t.berth.config.database.url ?? '').split('/').pop()!;
        await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
            where datname = $1 and pid <> pg_backend_pid() and state = 'idle'`,
          [name],
        );
        await waitUntil(
          () => lines.some((line) => line.includes('the database closed an idle connection')),
          'the warning on the given logger',
        );
      } finally {
        await admin.end();
        await database.close();
      }
    });

    it('commits a relaxed statement without waiting for the disk, and recovers from its failure', async () => {
      const raw = new pg.Pool({ connectionString: t.berth.config.database.url ?? '', max: 1 });
      raw.on('error', () => undefined);
      const sent: string[] = [];
      // The statements Berth sends to the real server, as it sends them.
      const recording = {
        connect: async () => {
          const client = await raw.connect();
          const query = client.query.bind(client) as (...args: unknown[]) => unknown;
          (client as unknown as { query: unknown }).query = (...args: unknown[]) => {
            sent.push(sqlOf(args[0]));
            return query(...args);
          };
          return client;
        },
      } as unknown as pg.Pool;
      const pool = resilientPool(recording, (sql) => sql.startsWith('insert into relaxed_probe'));
      const c = await pool.connect();
      try {
        await c.query('create table if not exists relaxed_probe (n int primary key)', []);
        await c.query('delete from relaxed_probe', []);
        sent.length = 0;
        await c.query('insert into relaxed_probe values ($1)', [1]);
        assert.deepEqual(sent, [
          'begin; set local synchronous_commit to off',
          'insert into relaxed_probe values ($1)',
          'commit',
        ]);
        // A relaxed statement that fails is rolled back and the connection stays usable.
        await assert.rejects(c.query('insert into relaxed_probe values ($1)', [1]), /duplicate/);
        assert.equal(sent.at(-1), 'rollback');
        const rows = await c.query<{ n: number; sync: string }>(
          "select count(*)::int as n, current_setting('synchronous_commit') as sync from relaxed_probe",
          [],
        );
        assert.deepEqual(
          rows.rows[0],
          { n: 1, sync: 'on' },
          'committed once; the setting was local',
        );
        // Inside a transaction it is a statement like any other.
        sent.length = 0;
        await c.query('begin', []);
        await c.query('insert into relaxed_probe values ($1)', [2]);
        await c.query('rollback', []);
        assert.deepEqual(sent, ['begin', 'insert into relaxed_probe values ($1)', 'rollback']);
        // A `begin` goes with the transaction's first statement when that has no parameters (a
        // write transaction's advisory lock): one round trip; and an empty transaction sends nothing.
        sent.length = 0;
        await c.query('begin', []);
        const first = await c.query<{ n: number }>('select 7 as n', []);
        await c.query('insert into relaxed_probe values ($1)', [3]);
        await c.query('rollback', []);
        await c.query('begin', []);
        await c.query('commit', []);
        assert.deepEqual(sent, [
          'begin; select 7 as n',
          'insert into relaxed_probe values ($1)',
          'rollback',
        ]);
        assert.equal(first.rows[0]!.n, 7, "the first statement's own result");
        const kept = await c.query<{ n: number }>(
          'select count(*)::int as n from relaxed_probe',
          [],
        );
        assert.equal(kept.rows[0]!.n, 1, 'the rolled-back insert is not there');
      } finally {
        c.release();
        await raw.end();
      }
    });

    it('sends a relaxed statement alone on a connection of the lane that does not wait for the disk', async () => {
      const url = t.berth.config.database.url ?? '';
      const raw = new pg.Pool({ connectionString: url, max: 1 });
      const lane = new pg.Pool({
        connectionString: url,
        max: 1,
        options: '-c synchronous_commit=off',
      });
      const sent: string[] = [];
      const patched = new WeakSet<object>();
      const recorded = (p: pg.Pool, label: string) =>
        ({
          connect: async () => {
            const client = await p.connect();
            // A pooled client comes back again: it is patched once.
            if (patched.has(client)) return client;
            patched.add(client);
            const query = client.query.bind(client) as (...args: unknown[]) => unknown;
            (client as unknown as { query: unknown }).query = (...args: unknown[]) => {
              sent.push(`${label}: ${sqlOf(args[0])}`);
              return query(...args);
            };
            return client;
          },
          end: () => p.end(),
        }) as unknown as pg.Pool;
      const pool = resilientPool(
        recorded(raw, 'pool'),
        (sql) =>
          sql.startsWith('insert into lane_probe') || sql.startsWith('select current_setting'),
        recorded(lane, 'lane'),
      );
      const c = await pool.connect();
      try {
        await c.query('create table if not exists lane_probe (n int primary key)', []);
        sent.length = 0;
        await c.query('insert into lane_probe values ($1)', [1]);
        const setting = await c.query<{ s: string }>(
          "select current_setting('synchronous_commit') as s",
          [],
        );
        assert.equal(setting.rows[0]!.s, 'off');
        assert.deepEqual(sent, [
          'lane: insert into lane_probe values ($1)',
          "lane: select current_setting('synchronous_commit') as s",
        ]);
        // Inside a transaction it is the transaction's, on the pool's connection.
        sent.length = 0;
        await c.query('begin', []);
        await c.query('insert into lane_probe values ($1)', [2]);
        await c.query('rollback', []);
        assert.deepEqual(sent, [
          'pool: begin',
          'pool: insert into lane_probe values ($1)',
          'pool: rollback',
        ]);
        const rows = await c.query<{ n: number }>('select count(*)::int as n from lane_probe', []);
        assert.equal(rows.rows[0]!.n, 1);
      } finally {
        c.release();
        await pool.end();
      }
    });

    it('runs a statement again only where that cannot do it twice', async () => {
      const url = t.berth.config.database.url ?? '';
      const raw = new pg.Pool({ connectionString: url, max: 1 });
      raw.on('connect', (client) => client.on('error', () => undefined));
      raw.on('error', () => undefined);
      const pool = resilientPool(raw);
      const admin = new pg.Client({ connectionString: `${process.env.BERTH_TEST_PG}/postgres` });
      await admin.connect();
      const end = async (pid: number) => {
        await admin.query('select pg_terminate_backend($1)', [pid]);
        await waitUntil(
          async () =>
            (await admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rowCount ===
            0,
          'the backend to end',
        );
      };
      try {
        await pool.connect().then(async (c) => {
          await c.query('create table if not exists retry_probe (n int)', []);
          c.release();
        });
        // Inside a transaction: the transaction fails, nothing is run again behind its back.
        const inTx = await pool.connect();
        await inTx.query('begin', []);
        const pid = (await inTx.query<{ pid: number }>('select pg_backend_pid() as pid', []))
          .rows[0]!.pid;
        await end(pid);
        await assert.rejects(inTx.query('insert into retry_probe values (1)', []));
        inTx.release(true);
        // Outside one, a read on a connection the server ended is answered from a fresh one.
        const reader = await pool.connect();
        const pid2 = (await reader.query<{ pid: number }>('select pg_backend_pid() as pid', []))
          .rows[0]!.pid;
        await end(pid2);
        const again = await reader.query<{ n: number }>(
          'select count(*)::int as n from retry_probe',
          [],
        );
        assert.equal(again.rows[0]!.n, 0);
        reader.release();
      } finally {
        await admin.end();
        await raw.end();
      }
    });

    it('prepares statements with parameters once per connection, except `*` results and batches; not when told not to', async () => {
      const url = t.berth.config.database.url ?? '';
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      // What the server holds prepared for the one connection, read from that connection.
      const preparedOn = async (c: { query: pg.Pool['query'] }) =>
        (
          await c.query('select statement from pg_prepared_statements order by statement', [])
        ).rows.map((r: { statement: string }) => r.statement);
      try {
        await admin.query('create table if not exists prepared_probe (n int, m int)');
        for (const prepared of [true, false]) {
          // A connection of its own each time: what a connection prepared stays with it.
          const raw = new pg.Pool({ connectionString: url, max: 1 });
          const pool = resilientPool(raw, undefined, undefined, prepared);
          const c = await pool.connect();
          try {
            for (let i = 0; i < 3; i += 1) {
              await c.query('insert into prepared_probe values ($1, $2)', [i, i]);
              await c.query('select count(*)::int as n from prepared_probe where n >= $1', [0]);
              await c.query('select * from prepared_probe where n = $1', [i]);
              const batch = Array.from({ length: 40 }, (_, k) => `($${k * 2 + 1}, $${k * 2 + 2})`);
              await c.query(
                `insert into prepared_probe values ${batch.join(', ')}`,
                Array.from({ length: 80 }, () => i),
              );
            }
            const counted = await c.query<{ n: number }>(
              'select count(*)::int as n from prepared_probe where n >= $1',
              [0],
            );
            assert.equal(counted.rows[0]!.n, prepared ? 123 : 246, 'every statement ran');
            const held = await preparedOn(c as unknown as { query: pg.Pool['query'] });
            assert.deepEqual(
              held,
              prepared
                ? [
                    'insert into prepared_probe values ($1, $2)',
                    'select count(*)::int as n from prepared_probe where n >= $1',
                  ]
                : [],
            );
          } finally {
            c.release();
            await pool.end();
          }
        }
      } finally {
        await admin.query('drop table if exists prepared_probe');
        await admin.end();
      }
    });
  },
);
