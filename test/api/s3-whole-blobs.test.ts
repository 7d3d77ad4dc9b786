/**
 * Whole-blob uploads on S3 storage (a real Ceph RADOS Gateway, `BERTH_TEST_S3`), with the metadata
 * in SQLite, or in PostgreSQL in that pass: the S3 requests one costs, and a collection racing
 * into the window between its PUT and its commit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { blob } from '../helpers/content.js';
import { s3Storage, testApp, type TestApp } from '../helpers/in-process.js';
import { testBucket } from '../helpers/s3.js';

async function s3App(): Promise<TestApp> {
  return testApp({ storage: s3Storage((await testBucket())!) });
}

if (process.env.BERTH_TEST_S3)
  describe('a blob uploaded whole to S3', () => {
    let t: TestApp;
    before(async () => (t = await s3App()));
    after(() => t.close());

    it('costs one PUT, and is written again if a collection took it before the commit', async () => {
      const requests = async () => {
        const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        return [...text.matchAll(/^berth_storage_requests_total\{operation="([^"]+)"\} (\d+)/gm)]
          .map((m) => [m[1]!, Number(m[2])] as const)
          .filter(([, n]) => n > 0);
      };
      const delta = (before: (readonly [string, number])[], after: (readonly [string, number])[]) =>
        after
          .map(([op, n]) => [op, n - (before.find(([o]) => o === op)?.[1] ?? 0)] as const)
          .filter(([, n]) => n > 0);
      const plain = blob(4000);
      const before = await requests();
      const put = await t.app.inject({
        method: 'POST',
        url: `/v2/lib/one-put/blobs/uploads/?digest=${plain.digest}`,
        payload: plain.bytes,
      });
      assert.equal(put.statusCode, 201, put.body);
      assert.deepEqual(delta(before, await requests()), [['PutObject', 1]]);

      // A collection that removes the same digest's bytes between the PUT and the commit (its
      // transaction counts the removal): the commit looks, finds them gone and writes them again.
      const { meta, store } = t.berth.registry.parts;
      const receive = store.receiveBlob!.bind(store);
      const raced = blob(5000);
      store.receiveBlob = async (...args) => {
        const received = await receive(...args);
        return {
          ...received,
          size: received.size,
          stage: async () => {
            await received.stage();
            await meta.writeTransaction(async (m) => {
              await m.gc.countRemoval();
              await store.trashBlob(raced.digest);
            });
            await store.purgeTrashedBlob(raced.digest);
          },
        };
      };
      try {
        const racedPut = await t.app.inject({
          method: 'POST',
          url: `/v2/lib/raced/blobs/uploads/?digest=${raced.digest}`,
          payload: raced.bytes,
        });
        assert.equal(racedPut.statusCode, 201, racedPut.body);
      } finally {
        delete (store as { receiveBlob?: unknown }).receiveBlob;
      }
      const get = await t.app.inject({ method: 'GET', url: `/v2/lib/raced/blobs/${raced.digest}` });
      assert.equal(get.statusCode, 200);
      assert.ok(get.rawPayload.equals(raced.bytes));
    });
  });
else if (process.env.CI)
  it('whole-blob uploads to S3', () => {
    throw new Error('CI is set and BERTH_TEST_S3 is not: scripts/test.sh starts Ceph for it');
  });
else
  process.stderr.write(
    'SKIP whole-blob uploads to S3: BERTH_TEST_S3 is not set (scripts/test.sh sets it)\n',
  );
