/**
 * Two `berth serve` replicas sharing one PostgreSQL database and one S3 bucket on a real Ceph
 * RADOS Gateway (one storage directory when no S3 store is given), behind a
 * real nginx on 127.0.0.1: a docker push through nginx pulled through one replica alone, and the
 * same image loaded by `berth image load` (each blob uploaded whole in one request); chunked
 * uploads (small chunks, and chunks of 5 MiB and more, which are multipart parts a replica stores
 * after answering) continued on the other replica and finished on either, with nothing read back
 * from the bucket; a write at the offset another replica is still writing refused; one replica
 * killed (SIGKILL) during a push, docker retrying through nginx onto the other, and the image
 * pulled whole and verified afterwards.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import { after, before, describe, it } from 'node:test';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import { dropPostgres, freshPostgresUrl } from '../helpers/in-process.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { BERTH_BIN, removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { needTools, skipUnlessTools } from '../helpers/tools.js';
import { testBucket } from '../helpers/s3.js';
import { waitUntil } from '../helpers/wait.js';

const ADMIN_PASSWORD = 'replica-admin-password';
const AUTH = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
const TOOLS = ['dockerd', 'docker', 'busybox', 'nginx'];
const noPostgres = !process.env.BERTH_TEST_PG;

function skipReason(): string | false {
  if (noPostgres && !process.env.CI)
    return 'needs BERTH_TEST_PG (scripts/test.sh starts a PostgreSQL for it)';
  return skipUnlessTools(TOOLS);
}

describe('replicas behind nginx on PostgreSQL', { skip: skipReason() }, () => {
  let data: string;
  let url: string;
  let a: SpawnedBerth;
  let b: SpawnedBerth;
  let lb: Nginx;
  let engine: PrivateDockerd;
  let storageEnv: NodeJS.ProcessEnv = {};
  // Each replica has a data directory of its own: everything they share is in the database and
  // the bucket (with a shared storage directory only when no S3 store is given).
  const replica = (port?: number) =>
    spawnBerth({
      data: storageEnv.BERTH_STORAGE_BACKEND ? tempDir('replica') : data,
      port,
      auth: 'token',
      adminPassword: ADMIN_PASSWORD,
      env: {
        BERTH_DATABASE_URL: url,
        BERTH_CACHE_TTL: '1',
        BERTH_TRUST_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
        ...storageEnv,
      },
    });

  before(async () => {
    if (noPostgres)
      throw new Error('CI is set and this test needs BERTH_TEST_PG (a PostgreSQL server)');
    process.env.BERTH_TEST_DB = 'postgres';
    url = (await freshPostgresUrl())!;
    delete process.env.BERTH_TEST_DB;
    data = tempDir('replicas');
    const bucket = await testBucket();
    if (bucket)
      storageEnv = {
        BERTH_STORAGE_BACKEND: 's3',
        BERTH_STORAGE_S3_BUCKET: bucket.bucket,
        BERTH_STORAGE_S3_PREFIX: bucket.prefix,
        BERTH_STORAGE_S3_ENDPOINT: bucket.endpoint,
        BERTH_STORAGE_S3_ACCESS_KEY_ID: bucket.accessKeyId,
        BERTH_STORAGE_S3_SECRET_ACCESS_KEY: bucket.secretAccessKey,
      };
    a = await replica();
    b = await replica();
    lb = await startNginx([a.host, b.host]);
    engine = await startDockerd();
    engine.docker(['build', '-q', '-t', 'local/busybox:1', busyboxContext()]);
    const login = engine.attempt(['login', '-u', 'admin', '--password-stdin', lb.host], {
      input: ADMIN_PASSWORD,
    });
    assert.equal(login.status, 0, login.output);
    const direct = engine.attempt(['login', '-u', 'admin', '--password-stdin', b.host], {
      input: ADMIN_PASSWORD,
    });
    assert.equal(direct.status, 0, direct.output);
  });
  after(async () => {
    await engine?.stop();
    await lb?.stop();
    await a?.kill();
    await b?.stop();
    for (const dir of new Set([data, a?.data, b?.data])) if (dir) removeDir(dir);
    if (url) await dropPostgres(url);
  });

  it('pushes through the balancer and pulls through one replica alone', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    engine.docker([
      'build',
      '-q',
      '-t',
      'local/hello:1',
      derivedContext('local/busybox:1', ['RUN echo replicated > /hello']),
    ]);
    engine.docker(['tag', 'local/hello:1', `${lb.host}/admin/hello:1`]);
    engine.docker(['push', `${lb.host}/admin/hello:1`]);
    // Pulled through replica b alone, and run.
    const pulledFromB = (repository: string) => {
      engine.docker(['pull', `${b.host}/admin/${repository}:1`]);
      const ref = `${b.host}/admin/${repository}:1`;
      return engine.docker(['run', '--rm', '--network', 'none', ref, 'cat', '/hello']).trim();
    };
    assert.equal(pulledFromB('hello'), 'replicated');
    // `berth image load` uploads each blob whole in one request (POST, then PUT with the body):
    // on S3 that is the path that writes a blob straight to its key once its digest checks.
    const archive = `${tempDir('replica-archive')}/hello.tar`;
    engine.docker(['save', '-o', archive, 'local/hello:1']);
    const load = spawnSync(
      process.execPath,
      [
        BERTH_BIN,
        'image',
        'load',
        archive,
        '--tag',
        `${lb.host}/admin/loaded:1`,
        '--creds',
        `admin:${ADMIN_PASSWORD}`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(load.status, 0, load.stderr);
    assert.equal(pulledFromB('loaded'), 'replicated');
  });

  /** Requests both replicas sent to the object store so far, by operation (their /metrics). */
  async function storageRequests(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const r of [a, b]) {
      const text = await (await fetch(`${r.url}/metrics`)).text();
      for (const m of text.matchAll(/^berth_storage_requests_total\{operation="([^"]+)"\} (\d+)/gm))
        out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
    }
    return out;
  }

  /** Bytes of received chunks both replicas freed as soon as they were done with them. */
  async function chunkBytesFreed(): Promise<number> {
    let freed = 0;
    for (const r of [a, b]) {
      const text = await (await fetch(`${r.url}/metrics`)).text();
      freed += Number(/^berth_upload_chunk_bytes_freed_total (\d+)/m.exec(text)?.[1] ?? 0);
    }
    return freed;
  }

  /**
   * A chunked upload through the replicas in turn, PATCH by PATCH, finished on `finisher`. On S3,
   * a replica taking the upload over resumes its hash from the state saved with the session: no
   * PATCH reads a byte back or lists the upload's objects. With `oneSegment` (every chunk 5 MiB
   * or more), the chunks are parts of one multipart upload whichever replica took them, and the
   * commit copies no part.
   */
  async function chunkedAcross(
    name: string,
    bytes: Buffer,
    cut: number[],
    owners: SpawnedBerth[],
    finisher: SpawnedBerth,
    oneSegment = false,
  ): Promise<void> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const started = await fetch(`${a.url}/v2/admin/${name}/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: AUTH },
    });
    assert.equal(started.status, 202);
    const location = started.headers.get('location')!;
    const at = (r: SpawnedBerth) => new URL(location, r.url).toString();
    const before = await storageRequests();
    const freedBefore = await chunkBytesFreed();
    for (let i = 0; i < owners.length; i += 1) {
      const part = bytes.subarray(cut[i], cut[i + 1]);
      const res = await fetch(at(owners[i]!), {
        method: 'PATCH',
        headers: {
          authorization: AUTH,
          'content-type': 'application/octet-stream',
          'content-range': `${cut[i]}-${cut[i + 1]! - 1}`,
        },
        body: new Uint8Array(part),
      });
      assert.equal(res.status, 202, await res.text());
      assert.equal(res.headers.get('range'), `0-${cut[i + 1]! - 1}`);
    }
    if (storageEnv.BERTH_STORAGE_BACKEND) {
      const sent = await storageRequests();
      const during = (op: string) => (sent.get(op) ?? 0) - (before.get(op) ?? 0);
      assert.ok(during('PutObject') + during('UploadPart') > 0, 'the chunks reached the bucket');
      for (const op of ['GetObject', 'ListObjectsV2', 'ListMultipartUploads', 'ListParts'])
        assert.equal(during(op), 0, `${op} sent while the replicas took turns`);
    }
    const done = await fetch(
      `${at(finisher)}${location.includes('?') ? '&' : '?'}digest=${digest}`,
      { method: 'PUT', headers: { authorization: AUTH } },
    );
    assert.equal(done.status, 201, await done.text());
    if (storageEnv.BERTH_STORAGE_BACKEND && oneSegment) {
      const sent = await storageRequests();
      const during = (op: string) => (sent.get(op) ?? 0) - (before.get(op) ?? 0);
      assert.equal(during('CreateMultipartUpload'), 1, 'one multipart upload for every chunk');
      assert.equal(during('CompleteMultipartUpload'), 1);
      assert.equal(during('UploadPartCopy'), 0, 'no part copied at commit');
    }
    // The built server frees a request's chunks once done with them, on S3 too (whose driver
    // loads its own copy of the kit: its frees went unseen until that state was shared).
    assert.ok((await chunkBytesFreed()) > freedBefore, 'the replicas freed the chunks they took');
    const back = Buffer.from(
      await (
        await fetch(`${lb.url}/v2/admin/${name}/blobs/${digest}`, {
          headers: { authorization: AUTH },
        })
      ).arrayBuffer(),
    );
    assert.equal(createHash('sha256').update(back).digest('hex'), digest.slice(7));
  }

  it('continues a chunked upload on the other replica and finishes it on the first', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    await chunkedAcross(
      'chunks',
      bytes,
      [0, 1024 * 1024, 2 * 1024 * 1024 + 5, bytes.length],
      [b, a, b],
      a,
    );
  });

  it('continues chunks of 5 MiB and more (parts a replica stores after answering) on the other', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    // Each PATCH is a part of a multipart upload its replica may still be storing when the next
    // PATCH reaches the other one, which goes on from the saved hash; the finishing replica
    // waits for those parts and completes them before the blob is written.
    const MiB = 1024 * 1024;
    const bytes = randomBytes(18 * MiB + 3);
    await chunkedAcross('parts', bytes, [0, 6 * MiB, 11 * MiB, bytes.length], [a, b, a], b, true);
  });

  it('finishes on the replica that took the last chunk while the other still stores an earlier one', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    // The finisher completes the one multipart upload both replicas added parts to, waiting for
    // the other's last part, which it may still be storing.
    const MiB = 1024 * 1024;
    const bytes = randomBytes(24 * MiB + 9);
    const cut = [0, 6 * MiB, 12 * MiB, 18 * MiB, bytes.length];
    await chunkedAcross('turns', bytes, cut, [a, b, a, b], b, true);
  });

  it('refuses a write at the same offset on the other replica while the first goes on', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    // Two writes of one offset at once would store one's bytes under the other's running hash:
    // a blob whose bytes do not match its digest. The database's claim lets only one through.
    const MiB = 1024 * 1024;
    const first = randomBytes(2 * MiB);
    const other = randomBytes(2 * MiB);
    const started = await fetch(`${a.url}/v2/admin/raced/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: AUTH },
    });
    const location = started.headers.get('location')!;
    const id = new URL(location, a.url).pathname.split('/').pop()!;
    const at = (r: SpawnedBerth) => new URL(location, r.url).toString();
    const chunk = (bytes: Buffer) => ({
      authorization: AUTH,
      'content-type': 'application/octet-stream',
      'content-length': String(bytes.length),
      'content-range': `0-${bytes.length - 1}`,
    });
    // Replica a's write: its headers and half its body sent, the rest held back.
    const held = http.request(at(a), { method: 'PATCH', headers: chunk(first) });
    const answered = new Promise<number>((resolve, reject) => {
      held.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      held.on('error', reject);
    });
    held.write(first.subarray(0, MiB));
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await waitUntil(
        async () =>
          (await db.query('select append_token from uploads where id = $1', [id])).rows[0]
            ?.append_token != null,
        'replica a to claim the write',
      );
    } finally {
      await db.end();
    }
    const raced = await fetch(at(b), { method: 'PATCH', headers: chunk(other), body: other });
    assert.equal(raced.status, 416, await raced.text());
    held.end(first.subarray(MiB));
    assert.equal(await answered, 202);
    const digest = `sha256:${createHash('sha256').update(first).digest('hex')}`;
    const done = await fetch(`${at(b)}${location.includes('?') ? '&' : '?'}digest=${digest}`, {
      method: 'PUT',
      headers: { authorization: AUTH },
    });
    assert.equal(done.status, 201, await done.text());
    const back = await fetch(`${b.url}/v2/admin/raced/blobs/${digest}`, {
      headers: { authorization: AUTH },
    });
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(first));
  });

  it('loses nothing when a replica is killed during a push: docker retries onto the other', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    engine.docker([
      'build',
      '-q',
      '-t',
      'local/big:1',
      derivedContext('local/busybox:1', [
        'RUN dd if=/dev/urandom of=/big bs=1M count=96 2>/dev/null && sha256sum /big > /big.sha256',
      ]),
    ]);
    engine.docker(['tag', 'local/big:1', `${lb.host}/admin/big:1`]);
    const push = spawn('docker', ['push', `${lb.host}/admin/big:1`], {
      env: engine.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    push.stdout.on('data', (d: Buffer) => (output += d.toString()));
    push.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number>((resolve) =>
      push.once('exit', (code) => resolve(code ?? -1)),
    );
    // Once docker is sending layers, kill one replica while the push is still going.
    for (let i = 0; i < 200 && !output.includes('Preparing'); i += 1)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(push.exitCode, null, 'the push was still running when the replica was killed');
    await a.kill();
    const status = await exited;
    if (process.env.BERTH_TEST_VERBOSE) writeFileSync(process.env.BERTH_TEST_VERBOSE, output);
    assert.equal(status, 0, `docker push failed after the replica was killed:\n${output}`);
    engine.docker(['rmi', `${lb.host}/admin/big:1`, 'local/big:1']);
    engine.docker(['pull', `${b.host}/admin/big:1`]);
    const check = engine.docker([
      'run',
      '--rm',
      '--network',
      'none',
      `${b.host}/admin/big:1`,
      'sha256sum',
      '-c',
      '/big.sha256',
    ]);
    assert.match(check, /\/big: OK/);
    // The replica comes back on the same port and serves what the other stored meanwhile.
    a = await replica(a.port);
    const manifest = await fetch(`${a.url}/v2/admin/big/manifests/1`, {
      headers: {
        authorization: AUTH,
        accept: 'application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    assert.equal(manifest.status, 200);
  });
});
