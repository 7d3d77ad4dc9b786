/** In-process tests of the blob and upload endpoints and their error paths. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { freedChunkBytes } from '../../src/kit/index.js';
import { AppendClaims } from '../../src/registry/index.js';
import { waitUntil } from '../helpers/wait.js';
import { blob } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { errorCode, pushBlob } from '../helpers/registry-calls.js';

describe('blob uploads and downloads', () => {
  let t: TestApp;
  before(async () => (t = await testApp()));
  after(() => t.close());

  it('answers the API root with the version header', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v2/' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
  });

  it('starts an upload with Location, Range and Docker-Upload-UUID', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v2/lib/a/blobs/uploads/' });
    assert.equal(res.statusCode, 202);
    const uuid = res.headers['docker-upload-uuid'] as string;
    assert.match(uuid, /^[a-f0-9-]{36}$/);
    assert.equal(res.headers.location, `/v2/lib/a/blobs/uploads/${uuid}`);
    assert.equal(res.headers.range, '0-0');
  });

  it('takes a monolithic POST ?digest= upload and serves it with GET and HEAD', async () => {
    const b = blob(5000);
    const res = await t.app.inject({
      method: 'POST',
      url: `/v2/lib/a/blobs/uploads/?digest=${b.digest}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: b.bytes,
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers.location, `/v2/lib/a/blobs/${b.digest}`);
    assert.equal(res.headers['docker-content-digest'], b.digest);
    const head = await t.app.inject({ method: 'HEAD', url: `/v2/lib/a/blobs/${b.digest}` });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], '5000');
    assert.equal(head.headers['docker-content-digest'], b.digest);
    assert.equal(head.body, '');
    const get = await t.app.inject({ method: 'GET', url: `/v2/lib/a/blobs/${b.digest}` });
    assert.equal(get.statusCode, 200);
    assert.deepEqual(get.rawPayload, b.bytes);
    assert.equal(get.headers.etag, `"${b.digest}"`);
  });

  it('serves byte ranges with 206 and refuses unsatisfiable ones with 416', async () => {
    const b = blob(1000);
    await pushBlob(t.app, 'lib/range', b);
    const part = await t.app.inject({
      method: 'GET',
      url: `/v2/lib/range/blobs/${b.digest}`,
      headers: { range: 'bytes=100-199' },
    });
    assert.equal(part.statusCode, 206);
    assert.equal(part.headers['content-range'], 'bytes 100-199/1000');
    assert.deepEqual(part.rawPayload, b.bytes.subarray(100, 200));
    const suffix = await t.app.inject({
      method: 'GET',
      url: `/v2/lib/range/blobs/${b.digest}`,
      headers: { range: 'bytes=-10' },
    });
    assert.deepEqual(suffix.rawPayload, b.bytes.subarray(990));
    const bad = await t.app.inject({
      method: 'GET',
      url: `/v2/lib/range/blobs/${b.digest}`,
      headers: { range: 'bytes=2000-' },
    });
    assert.equal(bad.statusCode, 416);
    assert.equal(bad.headers['content-range'], 'bytes */1000');
    const none = await t.app.inject({
      method: 'GET',
      url: `/v2/lib/range/blobs/${b.digest}`,
      headers: { range: 'bytes=-0' },
    });
    assert.equal(none.statusCode, 416, 'an empty suffix is unsatisfiable');
    assert.equal(Number(none.headers['content-length']), none.rawPayload.byteLength);
  });

  it('answers 404 BLOB_UNKNOWN, not an empty 200, when a blob file vanished', async (ctx) => {
    if (process.env.BERTH_TEST_STORAGE === 's3')
      return ctx.skip("the file layout is the filesystem driver's");
    const b = blob(70_000); // above storage.inlineBytes: a file of its own
    await pushBlob(t.app, 'lib/vanished', b);
    const hex = b.digest.slice('sha256:'.length);
    rmSync(path.join(t.data, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex));
    const res = await t.app.inject({ method: 'GET', url: `/v2/lib/vanished/blobs/${b.digest}` });
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(errorCode(res), 'BLOB_UNKNOWN');
    assert.equal(Number(res.headers['content-length']), res.rawPayload.byteLength);
  });

  it('takes chunked PATCHes with Content-Range and a final PUT with a chunk', async () => {
    const b = blob(30_000);
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/chunked/blobs/uploads/' });
    const loc = start.headers.location as string;
    const first = await t.app.inject({
      method: 'PATCH',
      url: loc,
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': '0-9999',
        'content-length': '10000',
      },
      payload: b.bytes.subarray(0, 10_000),
    });
    assert.equal(first.statusCode, 202, first.body);
    assert.equal(first.headers.range, '0-9999');
    const status = await t.app.inject({ method: 'GET', url: loc });
    assert.equal(status.statusCode, 204);
    assert.equal(status.headers.range, '0-9999');
    assert.equal(status.headers['docker-upload-uuid'], start.headers['docker-upload-uuid']);
    const outOfOrder = await t.app.inject({
      method: 'PATCH',
      url: loc,
      headers: { 'content-range': '20000-29999' },
      payload: b.bytes.subarray(20_000),
    });
    assert.equal(outOfOrder.statusCode, 416);
    const repeated = await t.app.inject({
      method: 'PATCH',
      url: loc,
      headers: { 'content-range': '0-9999' },
      payload: b.bytes.subarray(0, 10_000),
    });
    assert.equal(repeated.statusCode, 416);
    for (const range of ['bytes=10000-19999', 'bytes 10000-19999/30000'])
      assert.equal(
        (
          await t.app.inject({
            method: 'PATCH',
            url: loc,
            headers: { 'content-range': range },
            payload: b.bytes.subarray(10_000, 20_000),
          })
        ).statusCode,
        416,
        `Content-Range ${range} is not the spec's form`,
      );
    const second = await t.app.inject({
      method: 'PATCH',
      url: loc,
      headers: { 'content-range': '10000-19999' },
      payload: b.bytes.subarray(10_000, 20_000),
    });
    assert.equal(second.statusCode, 202);
    const done = await t.app.inject({
      method: 'PUT',
      url: `${loc}?digest=${b.digest}`,
      headers: { 'content-range': '20000-29999', 'content-length': '10000' },
      payload: b.bytes.subarray(20_000),
    });
    assert.equal(done.statusCode, 201, done.body);
    const get = await t.app.inject({ method: 'GET', url: `/v2/lib/chunked/blobs/${b.digest}` });
    assert.deepEqual(get.rawPayload, b.bytes);
  });

  it('takes a streamed PATCH without Content-Range then an empty PUT', async () => {
    const b = blob(64 * 1024);
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/streamed/blobs/uploads/' });
    const patch = await t.app.inject({
      method: 'PATCH',
      url: start.headers.location as string,
      payload: b.bytes,
    });
    assert.equal(patch.statusCode, 202);
    assert.equal(patch.headers.range, `0-${b.size - 1}`);
    const done = await t.app.inject({
      method: 'PUT',
      url: `${patch.headers.location}?digest=${b.digest}`,
    });
    assert.equal(done.statusCode, 201);
  });

  it('makes a blob of the recorded bytes only, after a chunk refused as longer than its range', async () => {
    const b = blob(300_000);
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/overlong/blobs/uploads/' });
    const loc = start.headers.location as string;
    const headers = { 'content-type': 'application/octet-stream' };
    const first = await t.app.inject({
      method: 'PATCH',
      url: loc,
      headers: { ...headers, 'content-range': `0-${b.size - 1}` },
      payload: b.bytes,
    });
    assert.equal(first.statusCode, 202, first.body);
    // Sent chunked, the body is read whole (the store takes it) before its length is checked.
    const overlong = await t.app.inject({
      method: 'PATCH',
      url: loc,
      headers: { ...headers, 'content-range': `${b.size}-${b.size + 99}` },
      payload: Readable.from([Buffer.alloc(1000, 7)]),
    });
    assert.equal(errorCode(overlong), 'SIZE_INVALID');
    const done = await t.app.inject({ method: 'PUT', url: `${loc}?digest=${b.digest}` });
    assert.equal(done.statusCode, 201, done.body);
    // The store's own copy, read whole: it used to hold the refused chunk's bytes after these.
    const stored: Buffer[] = [];
    for await (const c of t.berth.registry.parts.store.readBlob(b.digest)) stored.push(c as Buffer);
    assert.equal(Buffer.concat(stored).length, b.size);
    assert.ok(Buffer.concat(stored).equals(b.bytes));
  });

  it('stores the empty blob from an upload that never got a byte, checked on the way', async () => {
    const empty = blob(0);
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/empty/blobs/uploads/' });
    const location = start.headers.location as string;
    // The store has not heard of the upload yet (it hears of it once it needs to): its status
    // is still known, and so is an empty PATCH.
    const status = await t.app.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 204, status.body);
    assert.equal(status.headers.range, '0-0');
    const patch = await t.app.inject({ method: 'PATCH', url: location, payload: Buffer.alloc(0) });
    assert.equal(patch.statusCode, 202, patch.body);
    const done = await t.app.inject({ method: 'PUT', url: `${location}?digest=${empty.digest}` });
    assert.equal(done.statusCode, 201, done.body);
    const head = await t.app.inject({ method: 'HEAD', url: `/v2/lib/empty/blobs/${empty.digest}` });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], '0');
    const get = await t.app.inject({ method: 'GET', url: `/v2/lib/empty/blobs/${empty.digest}` });
    assert.equal(get.statusCode, 200);
    assert.equal(get.rawPayload.length, 0);
  });

  it('rejects a wrong digest with DIGEST_INVALID and discards the data', async () => {
    const b = blob(100);
    const other = blob(100);
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/wrong/blobs/uploads/' });
    const loc = start.headers.location as string;
    const res = await t.app.inject({
      method: 'PUT',
      url: `${loc}?digest=${other.digest}`,
      payload: b.bytes,
    });
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'DIGEST_INVALID');
    const after = await t.app.inject({ method: 'GET', url: loc });
    assert.equal(after.statusCode, 404);
    assert.equal(errorCode(after), 'BLOB_UPLOAD_UNKNOWN');
    const head = await t.app.inject({ method: 'HEAD', url: `/v2/lib/wrong/blobs/${other.digest}` });
    assert.equal(head.statusCode, 404);
  });

  it('never lets a whole-blob upload with the wrong bytes replace a stored blob', async () => {
    // The attack: claim a blob another repository holds with bytes of one's own, in one request —
    // of announced length (an S3 store holds it locally) and streamed (an S3 store sends it as
    // the parts of a multipart upload on the blob's own key). Both are refused and the blob keeps
    // its bytes; then a 20 MiB streamed upload goes through the same path byte-exact.
    const honest = blob(3000);
    await pushBlob(t.app, 'lib/victim', honest);
    const forged = Buffer.alloc(3000, 7);
    const known = await t.app.inject({
      method: 'POST',
      url: `/v2/lib/forger/blobs/uploads/?digest=${honest.digest}`,
      payload: forged,
    });
    assert.equal(known.statusCode, 400);
    assert.equal(errorCode(known), 'DIGEST_INVALID');
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/forger/blobs/uploads/' });
    const streamed = await t.app.inject({
      method: 'PUT',
      url: `${start.headers.location}?digest=${honest.digest}`,
      headers: { 'transfer-encoding': 'chunked' },
      payload: Readable.from([forged]),
    });
    assert.equal(streamed.statusCode, 400);
    assert.equal(errorCode(streamed), 'DIGEST_INVALID');
    const get = await t.app.inject({ method: 'GET', url: `/v2/lib/victim/blobs/${honest.digest}` });
    assert.deepEqual(get.rawPayload, honest.bytes);
    const absent = await t.app.inject({
      method: 'HEAD',
      url: `/v2/lib/forger/blobs/${honest.digest}`,
    });
    assert.equal(absent.statusCode, 404);

    const large = blob(20 * 1024 * 1024 + 5);
    const next = await t.app.inject({ method: 'POST', url: '/v2/lib/large/blobs/uploads/' });
    const done = await t.app.inject({
      method: 'PUT',
      url: `${next.headers.location}?digest=${large.digest}`,
      headers: { 'transfer-encoding': 'chunked' },
      payload: Readable.from(
        Array.from({ length: 21 }, (_, i) =>
          large.bytes.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024),
        ),
      ),
    });
    assert.equal(done.statusCode, 201, done.body);
    const back = await t.app.inject({ method: 'GET', url: `/v2/lib/large/blobs/${large.digest}` });
    assert.equal(back.rawPayload.length, large.size);
    assert.ok(back.rawPayload.equals(large.bytes));
  });

  it('requires a digest to finish and validates it', async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/nodigest/blobs/uploads/' });
    const missing = await t.app.inject({ method: 'PUT', url: start.headers.location as string });
    assert.equal(missing.statusCode, 400);
    assert.equal(errorCode(missing), 'DIGEST_INVALID');
    const malformed = await t.app.inject({
      method: 'PUT',
      url: `${start.headers.location}?digest=sha256:xyz`,
    });
    assert.equal(errorCode(malformed), 'DIGEST_INVALID');
  });

  it('cancels uploads with DELETE', async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/cancel/blobs/uploads/' });
    const del = await t.app.inject({ method: 'DELETE', url: start.headers.location as string });
    assert.equal(del.statusCode, 204);
    const again = await t.app.inject({ method: 'DELETE', url: start.headers.location as string });
    assert.equal(again.statusCode, 404);
    assert.equal(errorCode(again), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('refuses an upload id from another repository or of the wrong shape', async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/mine/blobs/uploads/' });
    const uuid = start.headers['docker-upload-uuid'] as string;
    const res = await t.app.inject({ method: 'GET', url: `/v2/lib/theirs/blobs/uploads/${uuid}` });
    assert.equal(res.statusCode, 404);
    const weird = await t.app.inject({
      method: 'GET',
      url: '/v2/lib/mine/blobs/uploads/..%2F..%2Fetc',
    });
    assert.equal(weird.statusCode, 404);
    assert.equal(errorCode(weird), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('mounts across repositories with ?mount=&from=, and automatically without from', async () => {
    const b = blob(2048);
    await pushBlob(t.app, 'src/repo', b);
    const mounted = await t.app.inject({
      method: 'POST',
      url: `/v2/dst/repo/blobs/uploads/?mount=${b.digest}&from=src/repo`,
    });
    assert.equal(mounted.statusCode, 201);
    assert.equal(mounted.headers.location, `/v2/dst/repo/blobs/${b.digest}`);
    const auto = await t.app.inject({
      method: 'POST',
      url: `/v2/auto/repo/blobs/uploads/?mount=${b.digest}`,
    });
    assert.equal(auto.statusCode, 201);
    const unknown = blob(10);
    const fallback = await t.app.inject({
      method: 'POST',
      url: `/v2/dst/repo/blobs/uploads/?mount=${unknown.digest}&from=src/repo`,
    });
    assert.equal(fallback.statusCode, 202);
    assert.ok(fallback.headers.location);
  });

  it('keeps blobs per repository: a blob pushed elsewhere is unknown here', async () => {
    const b = blob(300);
    await pushBlob(t.app, 'one/repo', b);
    const res = await t.app.inject({ method: 'GET', url: `/v2/two/repo/blobs/${b.digest}` });
    assert.equal(res.statusCode, 404);
    assert.equal(errorCode(res), 'BLOB_UNKNOWN');
  });

  it('keeps a small blob in memory once read, and still checks each request against the repository', async () => {
    const b = blob(3000);
    await pushBlob(t.app, 'small/one', b);
    await pushBlob(t.app, 'small/two', b);
    const get = (name: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'GET', url: `/v2/${name}/blobs/${b.digest}`, headers });
    for (let i = 0; i < 2; i++) {
      const res = await get('small/one');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.rawPayload, b.bytes);
      assert.equal(res.headers['content-length'], '3000');
      assert.equal(res.headers['docker-content-digest'], b.digest);
    }
    const part = await get('small/one', { range: 'bytes=10-19' });
    assert.equal(part.statusCode, 206);
    assert.deepEqual(part.rawPayload, b.bytes.subarray(10, 20));
    // Kept in memory, yet gone from the repository it was deleted from; served where it remains.
    const del = await t.app.inject({ method: 'DELETE', url: `/v2/small/one/blobs/${b.digest}` });
    assert.equal(del.statusCode, 202);
    assert.equal((await get('small/one')).statusCode, 404);
    assert.equal(errorCode(await get('small/one')), 'BLOB_UNKNOWN');
    assert.deepEqual((await get('small/two')).rawPayload, b.bytes);
    const head = await t.app.inject({ method: 'HEAD', url: `/v2/small/two/blobs/${b.digest}` });
    assert.equal(head.headers['content-length'], '3000');
  });

  it('deletes a blob from a repository with 202, then 404', async () => {
    const b = blob(400);
    await pushBlob(t.app, 'del/blob', b);
    const del = await t.app.inject({ method: 'DELETE', url: `/v2/del/blob/blobs/${b.digest}` });
    assert.equal(del.statusCode, 202);
    const get = await t.app.inject({ method: 'GET', url: `/v2/del/blob/blobs/${b.digest}` });
    assert.equal(get.statusCode, 404);
    const again = await t.app.inject({ method: 'DELETE', url: `/v2/del/blob/blobs/${b.digest}` });
    assert.equal(errorCode(again), 'BLOB_UNKNOWN');
  });

  it('validates names and digests', async () => {
    for (const url of [
      '/v2/UPPER/blobs/uploads/',
      '/v2/a/.git/b/blobs/uploads/',
      '/v2/a//b/blobs/uploads/',
      '/v2/-lead/blobs/uploads/',
      `/v2/${'a'.repeat(256)}/blobs/uploads/`,
    ]) {
      const res = await t.app.inject({ method: 'POST', url });
      assert.equal(res.statusCode, 400, url);
      assert.equal(errorCode(res), 'NAME_INVALID', url);
    }
    const badDigest = await t.app.inject({ method: 'GET', url: '/v2/lib/a/blobs/sha256:1234' });
    assert.equal(badDigest.statusCode, 400);
    assert.equal(errorCode(badDigest), 'DIGEST_INVALID');
    const badAlg = await t.app.inject({
      method: 'GET',
      url: '/v2/lib/a/blobs/md5:d41d8cd98f00b204e9800998ecf8427e',
    });
    assert.equal(errorCode(badAlg), 'UNSUPPORTED');
  });

  it('answers unsupported methods and unknown routes with OCI errors', async () => {
    const patchBlob = await t.app.inject({
      method: 'PATCH',
      url: `/v2/lib/a/blobs/${blob(1).digest}`,
    });
    assert.equal(patchBlob.statusCode, 405);
    assert.equal(errorCode(patchBlob), 'UNSUPPORTED');
    const unknown = await t.app.inject({ method: 'GET', url: '/v2/lib/a/nothing' });
    assert.equal(unknown.statusCode, 404);
  });
});

/** A PATCH to `port` over a socket streaming `bytes` with no length announced (as docker sends a layer). */
function streamedPatch(
  port: number,
  location: string,
  bytes: Buffer,
  method = 'PATCH',
  headers: Record<string, string> = {},
): Promise<{ status: number; range?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: location,
        method,
        headers: { 'content-type': 'application/octet-stream', ...headers },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, range: res.headers.range, body }));
        res.on('error', reject);
      },
    );
    // The server may stop reading once it refuses the body: its answer is what counts.
    req.on('error', () => undefined);
    req.write(bytes.subarray(0, 20_000));
    req.end(bytes.subarray(20_000));
  });
}

/** An app listening on 127.0.0.1 with auth off and `uploadBytesPerAccount`, and its port. */
async function listeningApp(uploadBytesPerAccount: number): Promise<{ t: TestApp; port: number }> {
  const t = await testApp({ limits: { uploadBytesPerAccount }, auth: { mode: 'none' } });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  return { t, port: (t.app.server.address() as AddressInfo).port };
}

describe("an uploader's byte limit on bodies of unknown length", () => {
  let t: TestApp;
  let port: number;
  before(async () => ({ t, port } = await listeningApp(50_000)));
  after(() => t.close());

  const streamed = (location: string, bytes: Buffer) => streamedPatch(port, location, bytes);

  it('refuses the chunk that passes it, counting bytes held, and keeps what came before', async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/bounded/blobs/uploads/' });
    const location = start.headers.location as string;
    const over = await streamed(location, Buffer.alloc(60_000, 1));
    assert.equal(over.status, 403, over.body);
    assert.match(over.body, /"code":"DENIED"/);
    const first = await streamed(location, Buffer.alloc(30_000, 2));
    assert.equal(first.status, 202, first.body);
    assert.equal(first.range, '0-29999');
    // 30,000 held and 30,000 more: past the 50,000 the uploader may hold.
    const second = await streamed(location, Buffer.alloc(30_000, 3));
    assert.equal(second.status, 403, second.body);
    assert.match(second.body, /"code":"DENIED"/);
    const status = await t.app.inject({ method: 'GET', url: location });
    assert.equal(status.headers.range, '0-29999');
    const b = blob(Buffer.alloc(30_000, 2));
    const done = await t.app.inject({ method: 'PUT', url: `${location}?digest=${b.digest}` });
    assert.equal(done.statusCode, 201, done.body);
  });

  it("counts the uploader's other unfinished uploads, and what they give back once cancelled", async () => {
    const open = async () =>
      (await t.app.inject({ method: 'POST', url: '/v2/lib/bounded/blobs/uploads/' })).headers
        .location as string;
    const first = await open();
    const second = await open();
    assert.equal((await streamed(first, Buffer.alloc(30_000, 4))).status, 202);
    // The first holds 30,000: 30,000 more in the second would pass the 50,000.
    const refused = await streamed(second, Buffer.alloc(30_000, 5));
    assert.equal(refused.status, 403, refused.body);
    assert.match(refused.body, /"code":"DENIED"/);
    assert.equal((await t.app.inject({ method: 'DELETE', url: first })).statusCode, 204);
    const taken = await streamed(second, Buffer.alloc(30_000, 5));
    assert.equal(taken.status, 202, taken.body);
    assert.equal((await t.app.inject({ method: 'DELETE', url: second })).statusCode, 204);
  });
});

describe("an upload's received chunks", () => {
  let t: TestApp;
  let port: number;
  before(async () => ({ t, port } = await listeningApp(1 << 30)));
  after(() => t.close());

  it('are freed once stored when read from a connection, never when the caller handed them in', async () => {
    // Each way a body reaches the store (the suite runs again on Ceph): the filesystem store's
    // sinks free each chunk once written; an S3 store once the gateway took the part or object
    // holding it, or once written to the local file a small whole blob waits in.
    const before = freedChunkBytes();
    const ways: [
      string,
      number,
      (location: string, bytes: Buffer, digest: string) => Promise<number>,
    ][] = [
      [
        'a PATCH of unknown length',
        8 << 20,
        (at, bytes) => streamedPatch(port, at, bytes).then((r) => r.status),
      ],
      [
        'a PATCH of announced length',
        6 << 20,
        (at, bytes) =>
          streamedPatch(port, at, bytes, 'PATCH', {
            'content-length': String(bytes.length),
            'content-range': `0-${bytes.length - 1}`,
          }).then((r) => r.status),
      ],
      [
        'a whole blob of unknown length',
        20 << 20,
        (at, bytes, digest) =>
          streamedPatch(port, `${at}?digest=${digest}`, bytes, 'PUT').then((r) => r.status),
      ],
      [
        'a whole blob of announced length',
        6 << 20,
        (at, bytes, digest) =>
          streamedPatch(port, `${at}?digest=${digest}`, bytes, 'PUT', {
            'content-length': String(bytes.length),
          }).then((r) => r.status),
      ],
    ];
    let freed = 0;
    for (const [way, size, send] of ways) {
      const sent = blob(size);
      const start = await t.app.inject({ method: 'POST', url: '/v2/lib/freed/blobs/uploads/' });
      const location = start.headers.location as string;
      const at = freedChunkBytes();
      const status = await send(location, sent.bytes, sent.digest);
      if (status === 202) {
        const put = await t.app.inject({ method: 'PUT', url: `${location}?digest=${sent.digest}` });
        assert.equal(put.statusCode, 201, put.body);
      } else assert.equal(status, 201, way);
      assert.equal(
        freedChunkBytes() - at,
        size,
        `${way}: ${freedChunkBytes() - at} of ${size} bytes freed`,
      );
      freed += size;
      const get = await t.app.inject({ method: 'GET', url: `/v2/lib/freed/blobs/${sent.digest}` });
      assert.ok(get.rawPayload.equals(sent.bytes), way);
    }

    // An injected request's body is the caller's own buffer: stored, and left as it was.
    const handed = blob(4 << 20);
    const kept = Buffer.from(handed.bytes);
    const injected = await t.app.inject({
      method: 'POST',
      url: `/v2/lib/freed/blobs/uploads/?digest=${handed.digest}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: handed.bytes,
    });
    assert.equal(injected.statusCode, 201, injected.body);
    assert.ok(handed.bytes.equals(kept));
    assert.equal(freedChunkBytes() - before, freed);
  });
});

describe('a chunk refused midway, after some of its bytes were hashed', () => {
  let t: TestApp;
  let port: number;
  before(async () => ({ t, port } = await listeningApp(300_000)));
  after(() => t.close());

  it('leaves the upload digest of the bytes it kept, for the chunks after it', async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v2/lib/midway/blobs/uploads/' });
    const location = start.headers.location as string;
    // Past the bytes a session's row may hold: these go to the store, with a running hash.
    const first = blob(150_000).bytes;
    assert.equal((await streamedPatch(port, location, first)).status, 202);
    // 150,000 held and 250,000 more pass the 300,000: refused once 150,000 of them came in.
    const refused = await streamedPatch(port, location, Buffer.alloc(250_000, 7));
    assert.equal(refused.status, 403, refused.body);
    const last = blob(100_000).bytes;
    const taken = await streamedPatch(port, location, last);
    assert.equal(taken.status, 202, taken.body);
    assert.equal(taken.range, '0-249999');
    const whole = blob(Buffer.concat([first, last]));
    const done = await t.app.inject({ method: 'PUT', url: `${location}?digest=${whole.digest}` });
    assert.equal(done.statusCode, 201, done.body);
    const get = await t.app.inject({ method: 'GET', url: `/v2/lib/midway/blobs/${whole.digest}` });
    assert.deepEqual(get.rawPayload, whole.bytes);
  });
});

describe("an uploader's limit on open upload sessions", () => {
  let t: TestApp;
  before(async () => {
    t = await testApp({ limits: { uploadsPerAccount: 2 }, auth: { mode: 'none' } });
  });
  after(() => t.close());

  const open = (repository: string) =>
    t.app.inject({ method: 'POST', url: `/v2/${repository}/blobs/uploads/` });

  it('refuses one session more, makes no repository for it, and opens again after a cancel', async () => {
    const first = await open('lib/sessions');
    assert.equal(first.statusCode, 202, first.body);
    assert.equal((await open('lib/sessions')).statusCode, 202);
    const third = await open('lib/sessions');
    assert.equal(third.statusCode, 429, third.body);
    assert.equal(errorCode(third), 'TOOMANYREQUESTS');
    assert.match(third.body, /has 2 unfinished uploads/);
    // At the limit, an upload into a repository not yet made is refused before it is made.
    const elsewhere = await open('lib/never-made');
    assert.equal(elsewhere.statusCode, 429, elsewhere.body);
    const tags = await t.app.inject({ method: 'GET', url: '/v2/lib/never-made/tags/list' });
    assert.equal(errorCode(tags), 'NAME_UNKNOWN');
    const cancel = await t.app.inject({
      method: 'DELETE',
      url: first.headers.location as string,
    });
    assert.equal(cancel.statusCode, 204);
    assert.equal((await open('lib/sessions')).statusCode, 202);
    assert.equal((await open('lib/sessions')).statusCode, 429);
  });
});

describe(
  'an upload written by processes sharing the database',
  {
    skip:
      process.env.BERTH_TEST_DB !== 'postgres' &&
      'runs in the PostgreSQL pass (BERTH_TEST_DB=postgres): only a shared database takes claims',
  },
  () => {
    let t: TestApp;
    before(async () => (t = await testApp({ auth: { mode: 'none' } })));
    after(() => t.close());

    it('refuses a write while another process holds its claim, and writes once that lapses', async () => {
      const start = await t.app.inject({ method: 'POST', url: '/v2/lib/claimed/blobs/uploads/' });
      const location = start.headers.location as string;
      const id = location.split('/').pop()!.split('?')[0]!;
      const uploads = t.berth.meta.uploads;
      // What another replica does before it writes: claims the upload as it reads it.
      const now = Date.now();
      assert.ok(await uploads.claimAndGet(id, 'another-replica', now, now + 60_000));
      const sent = blob(100_000);
      const patch = () =>
        t.app.inject({
          method: 'PATCH',
          url: location,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `0-${sent.bytes.length - 1}`,
          },
          payload: sent.bytes,
        });
      const refused = await patch();
      assert.equal(refused.statusCode, 416, refused.body);
      assert.match(refused.body, /another request is writing to upload/);
      const put = await t.app.inject({
        method: 'PUT',
        url: `${location}?digest=${sent.digest}`,
        headers: { 'content-type': 'application/octet-stream' },
        payload: sent.bytes,
      });
      assert.equal(put.statusCode, 416, 'nor may it be finished meanwhile');
      // The other replica died: its claim lapses unrenewed, and the write goes on.
      await uploads.renewAppend(id, 'another-replica', Date.now() - 1);
      assert.equal((await patch()).statusCode, 202);
      // The recorded progress ended this write's claim: another may claim the upload now.
      const later = Date.now();
      const reread = await uploads.claimAndGet(id, 'another-replica', later, later + 60_000);
      assert.equal(reread?.size, sent.bytes.length);
      await uploads.releaseAppend(id, 'another-replica');
      const done = await t.app.inject({ method: 'PUT', url: `${location}?digest=${sent.digest}` });
      assert.equal(done.statusCode, 201, done.body);
      const got = await t.app.inject({
        method: 'GET',
        url: `/v2/lib/claimed/blobs/${sent.digest}`,
      });
      assert.ok(got.rawPayload.equals(sent.bytes));
    });

    it('never expires an upload another process is writing to, however long since its progress', async () => {
      const start = await t.app.inject({ method: 'POST', url: '/v2/lib/slow/blobs/uploads/' });
      const location = start.headers.location as string;
      const id = location.split('/').pop()!.split('?')[0]!;
      const uploads = t.berth.meta.uploads;
      // A long write on another replica: its claim is renewed, its progress not yet recorded.
      const now = Date.now();
      assert.ok(await uploads.claimAndGet(id, 'another-replica', now, now + 60_000));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await t.berth.registry.uploads.expire(10), 0);
      assert.equal((await t.app.inject({ method: 'GET', url: location })).statusCode, 204);
      // That replica died: its claim lapses, and the upload expires like any idle one.
      await uploads.renewAppend(id, 'another-replica', Date.now() - 1);
      assert.equal(await t.berth.registry.uploads.expire(10), 1);
      assert.equal((await t.app.inject({ method: 'GET', url: location })).statusCode, 404);
    });

    it('ends a PATCH whose claim another write took, keeping what was recorded', async () => {
      // The service's own claims, made to last 900 ms (renewed every 300) instead of a minute.
      const service = t.berth.registry.uploads;
      const own = Reflect.get(service, 'claims') as AppendClaims;
      Reflect.set(service, 'claims', new AppendClaims(t.berth.meta, true, 900));
      try {
        const start = await t.app.inject({ method: 'POST', url: '/v2/lib/lost/blobs/uploads/' });
        const location = start.headers.location as string;
        const id = location.split('/').pop()!.split('?')[0]!;
        const body = new PassThrough();
        const patch = t.app.inject({
          method: 'PATCH',
          url: location,
          headers: { 'content-type': 'application/octet-stream' },
          payload: body,
        });
        body.write(Buffer.alloc(256 * 1024, 1));
        const db = new pg.Client({ connectionString: t.berth.config.database.url });
        await db.connect();
        try {
          const holder = async () =>
            (await db.query('select append_token from uploads where id = $1', [id])).rows[0]
              ?.append_token as string | null;
          await waitUntil(async () => (await holder()) !== null, 'the PATCH to claim the upload');
          // Another replica takes the claim over (as once this one's lapsed, its process stalled).
          await db.query(`update uploads set append_token = 'another-replica' where id = $1`, [id]);
        } finally {
          await db.end();
        }
        // The next renewal finds the claim gone: the body is ended while still being read, with
        // the claim's reason (over a socket, the connection closes) — the client never ends it.
        let ended = false;
        void patch.catch(() => undefined).finally(() => (ended = true));
        await waitUntil(() => ended, 'the PATCH to be ended by its lost claim');
        await assert.rejects(patch, (err: Error & { code?: string }) => {
          assert.equal(err.code, 'RANGE_INVALID');
          // (Or, on a machine too loaded to renew it in time, given up unrenewed: the same end.)
          assert.match(err.message, /the write stopped/);
          return true;
        });
        const upload = await t.berth.meta.uploads.get(id);
        assert.equal(upload?.size, 0, 'nothing of the lost write was recorded');
      } finally {
        Reflect.set(service, 'claims', own);
      }
    });

    it('renews a claim while its write goes on, and stops once the upload is gone', async () => {
      // A claim lasting 6 s, renewed every 2 (and given up when unrenewed for 3): what a write
      // of several minutes does.
      const claims = new AppendClaims(t.berth.meta, true, 6_000);
      const opened = async () => {
        const start = await t.app.inject({ method: 'POST', url: '/v2/lib/renewed/blobs/uploads/' });
        const location = start.headers.location as string;
        return { location, id: location.split('/').pop()!.split('?')[0]! };
      };
      const { location, id } = await opened();
      const db = new pg.Client({ connectionString: t.berth.config.database.url });
      await db.connect();
      try {
        const until = async () =>
          Number(
            (await db.query('select append_until from uploads where id = $1', [id])).rows[0]
              ?.append_until ?? 0,
          );
        assert.ok(await claims.claim(id));
        const first = await until();
        await waitUntil(async () => (await until()) > first, 'the claim to be renewed');
        assert.equal(claims.renewing(), 1);
        // The upload is cancelled meanwhile: the next renewal finds no claim and stops.
        const cancel = await t.app.inject({ method: 'DELETE', url: location });
        assert.equal(cancel.statusCode, 204);
        await waitUntil(() => claims.renewing() === 0, 'the renewal to stop');
      } finally {
        await db.end();
      }
      // A claim whose upload's commit ended it stops renewing at once.
      const again = await claims.claim((await opened()).id);
      assert.equal(claims.renewing(), 1);
      again!.claim.ended();
      assert.equal(claims.renewing(), 0);
      await again!.claim.release();
    });
  },
);
