/**
 * PostgreSQL ending Berth's connections, idle or lent out, (a restart, a failover, an administrator's
 * pg_terminate_backend) neither crashes the process nor breaks later requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { waitUntil } from '../helpers/wait.js';

const onPostgres = process.env.BERTH_TEST_DB === 'postgres';

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
        await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1`,
          [name],
        );
        await waitUntil(
          async () => (await admin.query(ours, [name])).rows[0].n === 0,
          'the connections to end',
        );
        // Give the pool a turn to hear of it, then use it again.
        await new Promise((r) => setImmediate(r));
        for (let i = 0; i < 5; i += 1)
          assert.equal(
            (await t.app.inject({ method: 'GET', url: '/v2/_catalog' })).statusCode,
            200,
          );
      } finally {
        await admin.end();
      }
    });
  },
);
