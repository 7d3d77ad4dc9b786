/** Garbage collection against a live in-process registry. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blob, configBlob, ociManifest, type TestBlob } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { blobFile } from '../helpers/server.js';
import { pushBlob, putManifest } from '../helpers/registry-calls.js';

describe('garbage collection', () => {
  let t: TestApp;
  let kept: TestBlob;
  let shared: TestBlob;
  let dropped: TestBlob;
  let keptManifest: TestBlob;
  let droppedManifest: TestBlob;

  before(async () => {
    // Every blob in a file of its own: these cases watch the files (small blobs kept in the
    // database are collected in test/api/inline-blobs.test.ts).
    t = await testApp({ storage: { inlineBytes: 0 } });
    shared = blob(3000);
    kept = blob(2000);
    dropped = blob(4000);
    const config = configBlob();
    for (const b of [config, shared, kept, dropped]) await pushBlob(t.app, 'gc/repo', b);
    keptManifest = ociManifest(config, [shared, kept]);
    droppedManifest = ociManifest(config, [shared, dropped]);
    await putManifest(t.app, 'gc/repo', 'keep', keptManifest);
    await putManifest(t.app, 'gc/repo', 'drop', droppedManifest);
    await t.app.inject({ method: 'DELETE', url: '/v2/gc/repo/manifests/drop' });
  });
  after(() => t.close());

  it('keeps everything within the grace period', async () => {
    const report = await t.berth.registry.gc.collect({
      dryRun: false,
      deleteUntagged: true,
      graceMs: 60_000,
    });
    assert.equal(report.blobs.length + report.manifests.length + report.links.length, 0);
  });

  it('reports in a dry run without removing anything', async () => {
    const report = await t.berth.registry.gc.collect({
      dryRun: true,
      deleteUntagged: true,
      graceMs: 0,
    });
    assert.deepEqual(
      report.manifests.map((m) => m.digest),
      [droppedManifest.digest],
    );
    assert.ok(existsSync(blobFile(t.data, dropped.digest)));
    const get = await t.app.inject({
      method: 'GET',
      url: `/v2/gc/repo/manifests/${droppedManifest.digest}`,
    });
    assert.equal(get.statusCode, 200);
  });

  it('keeps untagged manifests when the policy says keep', async () => {
    const report = await t.berth.registry.gc.collect({
      dryRun: false,
      deleteUntagged: false,
      graceMs: 0,
    });
    assert.equal(report.manifests.length, 0);
    assert.equal(report.blobs.length, 0);
  });

  it('removes an untagged manifest and the blobs only it used, keeping shared ones', async () => {
    const upload = await t.app.inject({ method: 'POST', url: '/v2/gc/repo/blobs/uploads/' });
    const report = await t.berth.registry.gc.collect({
      dryRun: false,
      deleteUntagged: true,
      graceMs: 0,
    });
    assert.deepEqual(
      report.manifests.map((m) => m.digest),
      [droppedManifest.digest],
    );
    assert.deepEqual(
      report.blobs.map((b) => b.digest),
      [dropped.digest],
    );
    assert.equal(report.bytesFreed, 4000);
    assert.ok(!existsSync(blobFile(t.data, dropped.digest)));
    for (const b of [shared, kept]) {
      assert.ok(existsSync(blobFile(t.data, b.digest)));
      const res = await t.app.inject({ method: 'GET', url: `/v2/gc/repo/blobs/${b.digest}` });
      assert.equal(res.statusCode, 200);
    }
    const pulled = await t.app.inject({ method: 'GET', url: '/v2/gc/repo/manifests/keep' });
    assert.deepEqual(pulled.rawPayload, keptManifest.bytes);
    const status = await t.app.inject({ method: 'GET', url: upload.headers.location as string });
    assert.equal(status.statusCode, 204, 'an upload in flight survives collection');
  });

  it('restores a blob whose removal never committed', async () => {
    const trash = path.join(t.data, 'storage', 'trash');
    mkdirSync(trash, { recursive: true });
    const file = blobFile(t.data, kept.digest);
    renameSync(file, path.join(trash, `sha256-${kept.digest.slice(7)}`));
    await t.berth.registry.recover();
    assert.ok(existsSync(file));
  });
});
