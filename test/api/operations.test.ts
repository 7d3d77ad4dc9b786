/** Health, metrics, upload expiry and concurrent uploads of one blob, in-process. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blob } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';

describe('operations', () => {
  let t: TestApp;
  before(async () => (t = await testApp()));
  after(() => t.close());

  it('answers /healthz', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(JSON.parse(res.body), { status: 'ok' });
  });

  it('counts requests and bytes in /metrics', async () => {
    const b = blob(1234);
    await t.app.inject({
      method: 'POST',
      url: `/v2/ops/m/blobs/uploads/?digest=${b.digest}`,
      payload: b.bytes,
    });
    await t.app.inject({ method: 'GET', url: '/v2/ops/none/tags/list' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/plain/);
    assert.match(
      res.body,
      /berth_http_requests_total\{method="POST",route="uploads",status="201"\} 1/,
    );
    assert.match(res.body, /berth_http_requests_total\{method="GET",route="tags",status="404"\} 1/);
    assert.match(res.body, /berth_blob_bytes_received_total 1234/);
    assert.match(res.body, /berth_http_request_duration_seconds_bucket/);
  });

  it('expires idle uploads and removes their data', async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v2/ops/expire/blobs/uploads/' });
    const loc = start.headers.location as string;
    // Past storage.inlineBytes: the bytes are in a file (a smaller upload's are in its row).
    await t.app.inject({ method: 'PATCH', url: loc, payload: Buffer.alloc(70_000, 1) });
    const small = await t.app.inject({ method: 'POST', url: '/v2/ops/expire/blobs/uploads/' });
    const smallLoc = small.headers.location as string;
    await t.app.inject({ method: 'PATCH', url: smallLoc, payload: Buffer.alloc(1000, 1) });
    const uploads = path.join(t.data, 'storage', 'uploads');
    const id = start.headers['docker-upload-uuid'] as string;
    assert.ok(existsSync(path.join(uploads, id)));
    assert.equal(await t.berth.registry.uploads.expire(60_000), 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await t.berth.registry.uploads.expire(10), 2);
    assert.ok(!existsSync(path.join(uploads, id)));
    for (const gone of [loc, smallLoc]) {
      const status = await t.app.inject({ method: 'GET', url: gone });
      assert.equal(status.statusCode, 404);
    }
  });

  it('takes concurrent uploads of the same blob and keeps one good copy', async () => {
    const b = blob(256 * 1024);
    const results = await Promise.all(
      ['ops/c1', 'ops/c2', 'ops/c3', 'ops/c1'].map((name) =>
        t.app.inject({
          method: 'POST',
          url: `/v2/${name}/blobs/uploads/?digest=${b.digest}`,
          payload: b.bytes,
        }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.statusCode),
      [201, 201, 201, 201],
    );
    for (const name of ['ops/c1', 'ops/c2', 'ops/c3']) {
      const res = await t.app.inject({ method: 'GET', url: `/v2/${name}/blobs/${b.digest}` });
      assert.deepEqual(res.rawPayload, b.bytes);
    }
    const dir = path.join(t.data, 'storage', 'blobs', 'sha256', b.digest.slice(7, 9));
    const names = readdirSync(dir);
    assert.ok(names.includes(b.digest.slice(7)));
    assert.ok(
      names.every((n) => /^[a-f0-9]{64}$/.test(n)),
      `only finished blobs in ${dir}: ${names.join(', ')}`,
    );
    assert.deepEqual(readdirSync(path.join(t.data, 'storage', 'uploads')), []);
  });
});
