/**
 * Small blobs kept in the database beside the filesystem store (`storage.inlineBytes`): a blob
 * uploaded whole with its length announced, or sent as PATCHes (the session's row holding the
 * bytes) and an empty PUT, is written by the transaction that records it, with no file; larger
 * blobs keep their files. Runs with the metadata in SQLite, and in
 * PostgreSQL in that pass. (The same beside S3: test/api/s3-whole-blobs.test.ts.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { blob, configBlob, ociManifest, type TestBlob } from '../helpers/content.js';
import { deleteAndCollect, testApp, type TestApp } from '../helpers/in-process.js';
import { blobFile } from '../helpers/server.js';
import { patchUpload, pushBlob, pushBlobPatched, putManifest } from '../helpers/registry-calls.js';

/** The upload files left in the store (an upload that became a blob leaves none behind). */
async function uploadFiles(data: string): Promise<string[]> {
  const dir = path.join(data, 'storage', 'uploads');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Waits until `check` holds (the removal runs after the answer); fails after a generous 30 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, 'the condition never held');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function get(t: TestApp, name: string, b: TestBlob, range?: string) {
  return t.app.inject({
    method: 'GET',
    url: `/v2/${name}/blobs/${b.digest}`,
    headers: range ? { range } : {},
  });
}

const onS3 = process.env.BERTH_TEST_STORAGE === 's3';

describe('small blobs kept in the database beside the filesystem', { skip: onS3 }, () => {
  let t: TestApp;
  before(async () => (t = await testApp()));
  after(() => t.close());

  it('keeps a small whole blob without a file; larger and chunked ones get theirs', async () => {
    const small = blob(4000);
    await pushBlob(t.app, 'lib/small', small);
    assert.ok(!existsSync(blobFile(t.data, small.digest)), 'no file for a small whole blob');
    assert.ok((await t.berth.meta.inlineBlobs.read(small.digest))?.equals(small.bytes));
    await until(async () => (await uploadFiles(t.data)).length === 0);
    const whole = await get(t, 'lib/small', small);
    assert.equal(whole.statusCode, 200);
    assert.equal(whole.headers['content-length'], '4000');
    assert.ok(whole.rawPayload.equals(small.bytes));
    const part = await get(t, 'lib/small', small, 'bytes=10-19');
    assert.equal(part.statusCode, 206);
    assert.equal(part.headers['content-range'], 'bytes 10-19/4000');
    assert.ok(part.rawPayload.equals(small.bytes.subarray(10, 20)));
    const head = await t.app.inject({ method: 'HEAD', url: `/v2/lib/small/blobs/${small.digest}` });
    assert.equal(head.headers['content-length'], '4000');

    // A whole blob whose bytes are not the digest it names is refused and leaves nothing.
    const liar = blob(3000);
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/small/blobs/uploads/' });
    const short = await t.app.inject({
      method: 'PUT',
      url: `${start.headers.location as string}?digest=${blob(2000).digest}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: liar.bytes,
    });
    assert.equal(short.statusCode, 400, short.body);
    assert.equal(await t.berth.meta.inlineBlobs.read(liar.digest), undefined);

    // One byte past the limit (64 KiB by default): a file of its own.
    const large = blob(65_537);
    await pushBlob(t.app, 'lib/small', large);
    assert.ok(existsSync(blobFile(t.data, large.digest)));
    assert.equal(await t.berth.meta.inlineBlobs.read(large.digest), undefined);
    assert.ok((await get(t, 'lib/small', large)).rawPayload.equals(large.bytes));

    await until(async () => (await uploadFiles(t.data)).length === 0);
  });

  it('keeps a small blob sent as PATCH then empty PUT (docker, skopeo, podman) without a file', async () => {
    const patched = blob(3000);
    await pushBlobPatched(t.app, 'lib/patched', patched);
    assert.ok(!existsSync(blobFile(t.data, patched.digest)));
    assert.ok((await t.berth.meta.inlineBlobs.read(patched.digest))?.equals(patched.bytes));
    assert.ok((await get(t, 'lib/patched', patched)).rawPayload.equals(patched.bytes));
    const part = await get(t, 'lib/patched', patched, 'bytes=100-199');
    assert.ok(part.rawPayload.equals(patched.bytes.subarray(100, 200)));
    await until(async () => (await uploadFiles(t.data)).length === 0);

    // Without a length (docker streams its PATCH), in two chunks, checked by status on the way;
    // then completed as sha512, whose hash is read back from the session's row.
    const streamed = blob(20_000);
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/patched/blobs/uploads/' });
    let location = start.headers.location as string;
    for (const [from, to] of [
      [0, 12_000],
      [12_000, 20_000],
    ] as const) {
      const patch = await patchUpload(
        t.app,
        location,
        Readable.from([streamed.bytes.subarray(from, to)]),
      );
      assert.equal(patch.statusCode, 202, patch.body);
      assert.equal(patch.headers.range, `0-${to - 1}`);
      location = patch.headers.location as string;
    }
    const status = await t.app.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 204, status.body);
    assert.equal(status.headers.range, '0-19999');
    const sha512 = `sha512:${createHash('sha512').update(streamed.bytes).digest('hex')}`;
    const done = await t.app.inject({ method: 'PUT', url: `${location}?digest=${sha512}` });
    assert.equal(done.statusCode, 201, done.body);
    assert.ok((await t.berth.meta.inlineBlobs.read(sha512))?.equals(streamed.bytes));
    const read = await t.app.inject({ method: 'GET', url: `/v2/lib/patched/blobs/${sha512}` });
    assert.ok(read.rawPayload.equals(streamed.bytes));

    // Held bytes whose digest is not the one named are refused and leave nothing behind.
    const liar = blob(2000);
    const other = await t.app.inject({ method: 'POST', url: '/v2/lib/patched/blobs/uploads/' });
    const liarPatch = await patchUpload(t.app, other.headers.location as string, liar.bytes);
    const wrong = await t.app.inject({
      method: 'PUT',
      url: `${liarPatch.headers.location as string}?digest=${blob(2001).digest}`,
    });
    assert.equal(wrong.statusCode, 400, wrong.body);
    assert.equal(JSON.parse(wrong.body).errors[0].code, 'DIGEST_INVALID');
    assert.equal(await t.berth.meta.inlineBlobs.read(liar.digest), undefined);
    assert.equal(
      (await t.app.inject({ method: 'GET', url: liarPatch.headers.location as string })).statusCode,
      404,
    );
    await until(async () => (await uploadFiles(t.data)).length === 0);
  });

  it('moves held bytes to a file with the chunk that passes the limit', async () => {
    // A small PATCH, then one that passes 64 KiB without announcing its length, then the PUT.
    const grown = blob(100_000);
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/grown/blobs/uploads/' });
    const first = await patchUpload(
      t.app,
      start.headers.location as string,
      grown.bytes.subarray(0, 1000),
    );
    assert.equal(first.statusCode, 202, first.body);
    const second = await patchUpload(
      t.app,
      first.headers.location as string,
      Readable.from([grown.bytes.subarray(1000, 40_000), grown.bytes.subarray(40_000, 100_000)], {
        objectMode: false,
      }),
    );
    assert.equal(second.statusCode, 202, second.body);
    assert.equal(second.headers.range, '0-99999');
    const done = await t.app.inject({
      method: 'PUT',
      url: `${second.headers.location as string}?digest=${grown.digest}`,
    });
    assert.equal(done.statusCode, 201, done.body);
    assert.ok(existsSync(blobFile(t.data, grown.digest)));
    assert.equal(await t.berth.meta.inlineBlobs.read(grown.digest), undefined);
    assert.ok((await get(t, 'lib/grown', grown)).rawPayload.equals(grown.bytes));

    // Held bytes and a final chunk in the PUT that passes the limit, with its length announced.
    const tail = blob(70_000);
    const again = await t.app.inject({ method: 'POST', url: '/v2/lib/grown/blobs/uploads/' });
    const head = await patchUpload(
      t.app,
      again.headers.location as string,
      tail.bytes.subarray(0, 500),
    );
    const last = await t.app.inject({
      method: 'PUT',
      url: `${head.headers.location as string}?digest=${tail.digest}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: tail.bytes.subarray(500),
    });
    assert.equal(last.statusCode, 201, last.body);
    assert.ok(existsSync(blobFile(t.data, tail.digest)));
    assert.ok((await get(t, 'lib/grown', tail)).rawPayload.equals(tail.bytes));
    const part = await get(t, 'lib/grown', tail, 'bytes=400-599');
    assert.ok(part.rawPayload.equals(tail.bytes.subarray(400, 600)));
    await until(async () => (await uploadFiles(t.data)).length === 0);
  });

  it('mounts a small blob into another repository and pulls an image made of them', async () => {
    const config = configBlob();
    const layer = blob(1200);
    for (const x of [config, layer]) await pushBlob(t.app, 'lib/image', x);
    const manifest = ociManifest(config, [layer]);
    assert.equal((await putManifest(t.app, 'lib/image', 'v1', manifest)).statusCode, 201);
    const mount = await t.app.inject({
      method: 'POST',
      url: `/v2/lib/other/blobs/uploads/?mount=${layer.digest}&from=lib/image`,
    });
    assert.equal(mount.statusCode, 201, mount.body);
    assert.ok((await get(t, 'lib/other', layer)).rawPayload.equals(layer.bytes));
    for (const x of [config, layer])
      assert.ok((await get(t, 'lib/image', x)).rawPayload.equals(x.bytes));
  });

  it('sets a small blob aside with the transaction removing it, and collects it', async () => {
    const { meta, store } = t.berth.registry.parts;
    const b = blob(2500);
    await pushBlob(t.app, 'lib/collect', b);
    const readable = async () => (await get(t, 'lib/collect', b)).rawPayload.equals(b.bytes);

    // Set aside by a collection that died before its commit (the record stays): recovery puts
    // it back.
    await meta.writeTransaction(async (m) => void (await m.inlineBlobs.trash(b.digest)));
    assert.ok((await store.listTrash()).includes(b.digest));
    await t.berth.registry.recover();
    assert.ok(await readable());
    assert.ok(!(await store.listTrash()).includes(b.digest));

    // A collection of an untagged image removes its blobs' bytes for good, and keeps those a
    // tagged image still uses.
    const config = configBlob();
    const kept = blob(1700);
    const layer = blob(1500);
    for (const x of [config, kept, layer]) await pushBlob(t.app, 'lib/collect', x);
    assert.equal(
      (await putManifest(t.app, 'lib/collect', 'gone', ociManifest(config, [layer]))).statusCode,
      201,
    );
    assert.equal(
      (await putManifest(t.app, 'lib/collect', 'kept', ociManifest(config, [kept]))).statusCode,
      201,
    );
    const report = await deleteAndCollect(t, 'lib/collect', 'gone');
    assert.ok(report.blobs.some((x) => x.digest === layer.digest));
    assert.ok(!report.blobs.some((x) => x.digest === kept.digest));
    assert.equal((await get(t, 'lib/collect', layer)).statusCode, 404);
    assert.equal(await meta.inlineBlobs.read(layer.digest), undefined);
    assert.deepEqual(await meta.inlineBlobs.trashed(), []);
    assert.ok((await get(t, 'lib/collect', kept)).rawPayload.equals(kept.bytes));
  });

  it('writes every blob to a file when storage.inlineBytes is 0', async () => {
    const files = await testApp({ storage: { inlineBytes: 0 } });
    try {
      const small = blob(900);
      await pushBlob(files.app, 'lib/files', small);
      assert.ok(existsSync(blobFile(files.data, small.digest)));
      assert.equal(await files.berth.meta.inlineBlobs.read(small.digest), undefined);
      assert.ok((await get(files, 'lib/files', small)).rawPayload.equals(small.bytes));
    } finally {
      await files.close();
    }
  });
});
