/** Restarts, kill -9 in the middle of uploads and manifest pushes, and hostile paths, on a real server. */
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { blob, configBlob, ociManifest, sha256 } from '../helpers/content.js';
import { pushBlobOverHttp, putManifestOverHttp } from '../helpers/http-calls.js';
import { rawRequest, startSlowUpload } from '../helpers/raw-http.js';
import { removeDir, spawnBerth, tempDir } from '../helpers/server.js';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function blobFiles(data: string): string[] {
  const root = path.join(data, 'storage', 'blobs', 'sha256');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((prefix) => readdirSync(path.join(root, prefix)));
}

describe('crash safety', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(removeDir));

  it('resumes a chunked upload after the server is killed and restarted', async () => {
    const data = tempDir('resume');
    dirs.push(data);
    const content = blob(3 * 1024 * 1024);
    const chunk = 1024 * 1024;
    let server = await spawnBerth({ data });
    const start = await fetch(`${server.url}/v2/crash/resume/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    const first = await fetch(`${server.url}${location}`, {
      method: 'PATCH',
      headers: { 'content-range': `0-${chunk - 1}`, 'content-type': 'application/octet-stream' },
      body: Uint8Array.from(content.bytes.subarray(0, chunk)),
    });
    assert.equal(first.status, 202);
    await server.kill();
    server = await spawnBerth({ data });
    const status = await fetch(`${server.url}${location}`);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${chunk - 1}`);
    const second = await fetch(`${server.url}${location}`, {
      method: 'PATCH',
      headers: { 'content-range': `${chunk}-${2 * chunk - 1}` },
      body: Uint8Array.from(content.bytes.subarray(chunk, 2 * chunk)),
    });
    assert.equal(second.status, 202);
    await server.stop();
    server = await spawnBerth({ data });
    const done = await fetch(`${server.url}${location}?digest=${content.digest}`, {
      method: 'PUT',
      headers: { 'content-range': `${2 * chunk}-${content.size - 1}` },
      body: Uint8Array.from(content.bytes.subarray(2 * chunk)),
    });
    assert.equal(done.status, 201, await done.text());
    const got = Buffer.from(
      await (await fetch(`${server.url}/v2/crash/resume/blobs/${content.digest}`)).arrayBuffer(),
    );
    assert.equal(sha256(got), content.digest);
    await server.stop();
  });

  it('shows nothing partial after kill -9 during a streamed and a monolithic upload', async () => {
    const data = tempDir('killupload');
    dirs.push(data);
    const content = blob(8 * 1024 * 1024);
    let server = await spawnBerth({ data });
    const start = await fetch(`${server.url}/v2/crash/partial/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    const headers = {
      'content-type': 'application/octet-stream',
      'content-length': String(content.size),
    };
    await startSlowUpload(
      `${server.url}${location}`,
      'PATCH',
      headers,
      content.bytes,
      3 * 1024 * 1024,
    );
    await startSlowUpload(
      `${server.url}/v2/crash/partial/blobs/uploads/?digest=${content.digest}`,
      'POST',
      headers,
      content.bytes,
      5 * 1024 * 1024,
    );
    await sleep(300);
    await server.kill();
    server = await spawnBerth({ data });
    assert.equal(
      (await fetch(`${server.url}/v2/crash/partial/blobs/${content.digest}`, { method: 'HEAD' }))
        .status,
      404,
    );
    assert.deepEqual(blobFiles(data), [], 'no blob file was published');
    const status = await fetch(`${server.url}${location}`);
    assert.equal(status.headers.get('range'), '0-0', 'the interrupted chunk is not counted');
    const resumed = await fetch(`${server.url}${location}`, {
      method: 'PATCH',
      body: Uint8Array.from(content.bytes),
    });
    assert.equal(resumed.status, 202);
    const done = await fetch(`${server.url}${location}?digest=${content.digest}`, {
      method: 'PUT',
    });
    assert.equal(done.status, 201);
    assert.equal(
      (
        await fetch(`${server.url}/v2/crash/partial/blobs/${content.digest}`, { method: 'HEAD' })
      ).headers.get('content-length'),
      String(content.size),
    );
    await server.stop();
  });

  it('keeps every acknowledged manifest intact after kill -9 during manifest pushes', async () => {
    const data = tempDir('killmanifest');
    dirs.push(data);
    let server = await spawnBerth({ data });
    const config = configBlob();
    const layer = blob(4096);
    await pushBlobOverHttp(server.url, 'crash/manifests', config);
    await pushBlobOverHttp(server.url, 'crash/manifests', layer);
    const acknowledged = new Map<string, Buffer>();
    let stop = false;
    const pushers = [0, 1, 2, 3, 4, 5].map(async (worker) => {
      for (let i = 0; !stop; i += 1) {
        const m = ociManifest(config, [layer], {
          annotations: { n: `${worker}-${i}`, pad: 'x'.repeat(2000) },
        });
        try {
          const status = await putManifestOverHttp(
            server.url,
            'crash/manifests',
            `t${worker}-${i}`,
            m,
          );
          if (status === 201) acknowledged.set(`t${worker}-${i}`, m.bytes);
        } catch {
          return;
        }
      }
    });
    await sleep(700);
    await server.kill();
    stop = true;
    await Promise.all(pushers);
    assert.ok(
      acknowledged.size > 10,
      `only ${acknowledged.size} pushes were acknowledged before the kill`,
    );
    server = await spawnBerth({ data });
    for (const [tag, bytes] of acknowledged) {
      const res = await fetch(`${server.url}/v2/crash/manifests/manifests/${tag}`);
      assert.equal(res.status, 200, tag);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    }
    const tags = (await (await fetch(`${server.url}/v2/crash/manifests/tags/list`)).json()) as {
      tags: string[];
    };
    for (const tag of tags.tags) {
      const res = await fetch(`${server.url}/v2/crash/manifests/manifests/${tag}`);
      assert.equal(
        sha256(Buffer.from(await res.arrayBuffer())),
        res.headers.get('docker-content-digest'),
      );
    }
    await server.stop();
    const db = new Database(path.join(data, 'berth.db'), { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
  });

  it('never lets a path escape the data directory', async () => {
    const server = await spawnBerth();
    dirs.push(server.data);
    const lines = [
      'GET /v2/a/%2E%2E/%2E%2E/etc/tags/list HTTP/1.1',
      'GET /v2/../../etc/passwd/manifests/latest HTTP/1.1',
      'GET /v2/a/blobs/sha256:..%2F..%2F..%2Fetc%2Fpasswd HTTP/1.1',
      'GET /v2/a/blobs/uploads/..%2F..%2Fberth.db HTTP/1.1',
    ];
    for (const line of lines) {
      const res = await rawRequest('127.0.0.1', server.port, line);
      assert.ok([400, 404].includes(res.status), `${line} -> ${res.status}`);
      assert.match(res.body, /"errors"/);
    }
    await server.stop();
  });
});
