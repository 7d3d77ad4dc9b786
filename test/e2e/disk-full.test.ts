/**
 * A full disk (a small tmpfs holding the data directory): a push that fills it is refused with a
 * clear 507 and its bytes freed at once; cancelling an upload, `berth gc` and later pushes work
 * on the full disk and after it, without a restart.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statfsSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blob, configBlob, ociManifest } from '../helpers/content.js';
import { BERTH_BIN, removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';

const SIZE_MIB = 64;

function canMount(): string | false {
  if (process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0) return false;
  const why = 'mounting a tmpfs needs root';
  if (process.env.CI) return false; // under CI the test runs and fails loudly instead
  process.stderr.write(`SKIP disk-full test: ${why}\n`);
  return why;
}

/** Streams `total` bytes as one PATCH; resolves with the status (or -1 when the server closed). */
function patchStream(
  url: string,
  location: string,
  total: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(`${url}${location}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: -1, body: '' }));
    const chunk = Buffer.alloc(1 << 20, 7);
    let sent = 0;
    const write = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

const freeBytes = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

describe('a full disk', { skip: canMount() }, () => {
  const mountPoint = tempDir('disk-full');
  const data = path.join(mountPoint, 'data');
  let server: SpawnedBerth;

  before(async () => {
    const mounted = spawnSync('mount', [
      '-t',
      'tmpfs',
      '-o',
      `size=${SIZE_MIB}m,mode=0700`,
      'tmpfs',
      mountPoint,
    ]);
    assert.equal(mounted.status, 0, `mount: ${mounted.stderr}`);
    server = await spawnBerth({ data });
  });
  after(async () => {
    await server?.stop();
    spawnSync('umount', ['-l', mountPoint]);
    removeDir(mountPoint);
  });

  it('refuses the push that fills it with 507, frees its bytes, and takes the next push', async () => {
    const start = await fetch(`${server.url}/v2/full/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const before = freeBytes(mountPoint);
    const res = await patchStream(
      server.url,
      start.headers.get('location')!,
      (SIZE_MIB + 16) << 20,
    );
    assert.ok(res.status === 507 || res.status === -1, `status ${res.status} ${res.body}`);
    if (res.status === 507) assert.match(res.body, /storage is full/);
    assert.ok(freeBytes(mountPoint) >= before - (2 << 20), "the failed upload's bytes were freed");
    const status = await fetch(`${server.url}${start.headers.get('location')}`);
    assert.equal(status.status, 404, 'the discarded upload is gone');
    const layer = blob(200_000);
    const config = configBlob({ after: 'full' });
    for (const b of [layer, config]) {
      const put = await fetch(`${server.url}/v2/full/app/blobs/uploads/?digest=${b.digest}`, {
        method: 'POST',
        body: Uint8Array.from(b.bytes),
      });
      assert.equal(put.status, 201, await put.text());
    }
    const m = ociManifest(config, [layer]);
    const pushed = await fetch(`${server.url}/v2/full/app/manifests/v1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: Uint8Array.from(m.bytes),
    });
    assert.equal(pushed.status, 201, await pushed.text());
  });

  it('cancels uploads and collects garbage while the disk is full, then pushes again', async () => {
    const start = await fetch(`${server.url}/v2/full/other/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    const chunk = await patchStream(server.url, location, 8 << 20);
    assert.equal(chunk.status, 202, chunk.body);
    // Fill what is left with a file Berth knows nothing of.
    const filler = path.join(mountPoint, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(mountPoint)), 1));
    } catch {
      // ENOSPC once it is full: that is the point.
    }
    assert.ok(freeBytes(mountPoint) < 1 << 20);
    const small = blob(4096);
    const refused = await fetch(
      `${server.url}/v2/full/other/blobs/uploads/?digest=${small.digest}`,
      {
        method: 'POST',
        body: Uint8Array.from(small.bytes),
      },
    );
    assert.notEqual(refused.status, 500, await refused.text());
    const cancelled = await fetch(`${server.url}${location}`, { method: 'DELETE' });
    assert.equal(cancelled.status, 204, await cancelled.text());
    const gc = spawnSync(process.execPath, [BERTH_BIN, 'gc', '--grace', '0', '--data', data], {
      encoding: 'utf8',
    });
    assert.equal(gc.status, 0, gc.stderr);
    rmSync(filler);
    const again = await fetch(`${server.url}/v2/full/other/blobs/uploads/?digest=${small.digest}`, {
      method: 'POST',
      body: Uint8Array.from(small.bytes),
    });
    assert.equal(again.status, 201, await again.text());
  });
});
