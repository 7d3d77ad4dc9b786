/**
 * Write-behind on the filesystem store: appends start background syncs as they cross 32 MiB
 * marks (across chunked requests too) without holding the answer, a background sync's error is
 * kept until the commit (which then fails), and an upload a system crash shortened is refused at
 * completion as needing a new upload, never committed as a blob.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, truncate } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { BackgroundWork, batchedFileSink } from '../../src/storage/index.js';
import { blob } from '../helpers/content.js';
import { patchUpload } from '../helpers/registry-calls.js';
import { testApp } from '../helpers/in-process.js';
import { removeDir, tempDir } from '../helpers/server.js';

const MiB = 1 << 20;

describe('write-behind', () => {
  it('starts a background sync at each 32 MiB mark, across appends, and writes byte-exact', async () => {
    const dir = tempDir('write-behind');
    const file = path.join(dir, 'upload');
    const handle = await open(file, 'w+');
    let syncs = 0;
    const datasync = handle.datasync.bind(handle);
    handle.datasync = () => {
      syncs += 1;
      return datasync();
    };
    try {
      const bytes = randomBytes(72 * MiB);
      // Three appends of 24 MiB: the marks at 32 and 64 MiB fall inside the second and third.
      for (let at = 0; at < bytes.length; at += 24 * MiB) {
        const sink = batchedFileSink(handle, at);
        await pipeline(Readable.from([bytes.subarray(at, at + 24 * MiB)]), sink.stream);
        await sink.settled();
      }
      assert.equal(syncs, 2);
      const back = Buffer.alloc(bytes.length);
      await handle.read(back, 0, back.length, 0);
      assert.ok(back.equals(bytes));
    } finally {
      await handle.close();
      removeDir(dir);
    }
  });

  it("keeps a background sync's error for the one that waits for it", async () => {
    const dir = tempDir('write-behind');
    const handle = await open(path.join(dir, 'upload'), 'w+');
    const failure = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    handle.datasync = () => Promise.reject(failure);
    const work = new BackgroundWork();
    try {
      const sink = batchedFileSink(handle, 0);
      await pipeline(Readable.from([randomBytes(33 * MiB)]), sink.stream);
      work.add('u', sink.settled());
      await assert.rejects(work.settle('u'), /EIO/);
      await work.settle('u'); // settled work is forgotten
    } finally {
      await handle.close();
      removeDir(dir);
    }
  });

  it('refuses to complete an upload a crash left shorter than recorded, and commits nothing', async () => {
    // Filesystem and SQLite whatever the pass: the restart must find the same database.
    const embedded = { database: { synchronous: 'full' }, storage: { backend: 'filesystem' } };
    const first = await testApp(embedded);
    const data = first.data;
    // Past storage.inlineBytes, so the upload's bytes are in its file, not its row.
    const b = blob(100_000);
    const start = await first.app.inject({ method: 'POST', url: '/v2/lib/short/blobs/uploads/' });
    const location = start.headers.location as string;
    const patched = await patchUpload(first.app, location, b.bytes);
    assert.equal(patched.statusCode, 202, patched.body);
    await first.app.close();
    await first.berth.close();
    // What a power loss before the commit's sync can do to unsynced appends.
    const uuid = String(start.headers['docker-upload-uuid']);
    await truncate(path.join(data, 'storage', 'uploads', uuid), 20_000);
    const again = await testApp({ ...embedded, data });
    try {
      const status = await again.app.inject({ method: 'GET', url: location });
      assert.equal(status.headers.range, '0-99999', 'the recorded progress');
      const done = await again.app.inject({
        method: 'PUT',
        url: `${location}?digest=${b.digest}`,
      });
      assert.equal(done.statusCode, 404, done.body);
      assert.equal(done.json().errors[0].code, 'BLOB_UPLOAD_UNKNOWN');
      assert.match(done.json().errors[0].message, /holds 20000 of its 100000 bytes/);
      const head = await again.app.inject({
        method: 'HEAD',
        url: `/v2/lib/short/blobs/${b.digest}`,
      });
      assert.equal(head.statusCode, 404);
    } finally {
      await again.close();
      removeDir(data);
    }
  });
  it('completes after a restart a small upload whose bytes its session row held', async () => {
    const embedded = { database: { synchronous: 'full' }, storage: { backend: 'filesystem' } };
    const first = await testApp(embedded);
    const data = first.data;
    const b = blob(30_000);
    const start = await first.app.inject({ method: 'POST', url: '/v2/lib/held/blobs/uploads/' });
    const patched = await patchUpload(first.app, start.headers.location as string, b.bytes);
    assert.equal(patched.statusCode, 202, patched.body);
    const location = patched.headers.location as string;
    await first.app.close();
    await first.berth.close();
    const again = await testApp({ ...embedded, data });
    try {
      // The running hash is gone with the process: it is read back from the row.
      const done = await again.app.inject({ method: 'PUT', url: `${location}?digest=${b.digest}` });
      assert.equal(done.statusCode, 201, done.body);
      assert.ok((await again.berth.meta.inlineBlobs.read(b.digest))?.equals(b.bytes));
      const read = await again.app.inject({ method: 'GET', url: `/v2/lib/held/blobs/${b.digest}` });
      assert.ok(read.rawPayload.equals(b.bytes));
    } finally {
      await again.close();
      removeDir(data);
    }
  });
});
