/**
 * The content store contract, run against every driver: the filesystem always, and an
 * S3-compatible bucket on a real Ceph RADOS Gateway when `BERTH_TEST_S3` names one
 * (`http://KEY:SECRET@127.0.0.1:7480`; scripts/test.sh starts Ceph for it). Uploads in several
 * appends with hashing as bytes flow, truncation on a retried append, commits (one segment,
 * large parts copied server-side, small segments streamed), ranged reads, listing, trash.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  FsContentStore,
  openS3Store,
  type ContentStore,
  type S3Settings,
} from '../../src/storage/index.js';
import { testBucket } from '../helpers/s3.js';
import { removeDir, tempDir } from '../helpers/server.js';

async function read(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const MiB = 1024 * 1024;

/** A client of its own on the test's bucket, doing what an operator or a lifecycle rule would. */
function bucketClient(settings: S3Settings): S3Client {
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: true,
    credentials: { accessKeyId: settings.accessKeyId!, secretAccessKey: settings.secretAccessKey! },
  });
}

/**
 * Appends `bytes` in two chunks, checking each byte is observed once, in order; with `announced`
 * their length is told in advance, as a PATCH with Content-Length does.
 */
async function append(
  store: ContentStore,
  id: string,
  offset: number,
  bytes: Buffer,
  announced = false,
): Promise<number> {
  const seen: Buffer[] = [];
  const size = await store.appendUpload(
    id,
    offset,
    Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]),
    (c) => seen.push(c),
    announced ? bytes.length : undefined,
  );
  assert.ok(Buffer.concat(seen).equals(bytes), 'every byte is observed once, in order');
  return size;
}

/** `append` with the length announced. */
const appendAnnounced = (store: ContentStore, id: string, offset: number, bytes: Buffer) =>
  append(store, id, offset, bytes, true);

/** Commits as the registry does: stage (outside the database commit), commit, release. */
async function commit(
  store: ContentStore,
  id: string,
  digest: string,
  size: number,
): Promise<void> {
  await store.stageUpload?.(id, digest, size);
  await store.commitUpload(id, digest);
  await store.releaseUpload?.(id);
}

function contract(
  name: string,
  open: () => Promise<{ store: ContentStore; close: () => Promise<void> }>,
) {
  describe(`the ${name} content store`, () => {
    it('keeps an upload made of several appends and commits it as a blob', async () => {
      const { store, close } = await open();
      try {
        const id = randomUUID();
        const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(10)];
        await store.createUpload(id);
        let size = 0;
        for (const p of parts) size = await append(store, id, size, p);
        const all = Buffer.concat(parts);
        assert.equal(size, all.length);
        assert.ok((await store.listUploads()).includes(id));
        assert.deepEqual(await read(store.readUpload(id, 1070)), all.subarray(0, 1070));
        const digest = digestOf(all);
        await commit(store, id, digest, all.length);
        assert.ok(!(await store.listUploads()).includes(id));
        assert.deepEqual(await read(store.readBlob(digest)), all);
        assert.deepEqual(
          await read(store.readBlob(digest, { start: 5, end: 1004 })),
          all.subarray(5, 1005),
        );
      } finally {
        await close();
      }
    });

    it('drops what lies past the offset of a retried append', async () => {
      const { store, close } = await open();
      try {
        const id = randomUUID();
        await store.createUpload(id);
        const first = randomBytes(4096);
        await append(store, id, 0, first);
        await append(store, id, 4096, randomBytes(5000));
        const again = randomBytes(3000);
        assert.equal(await append(store, id, 4096, again), 7096);
        const all = Buffer.concat([first, again]);
        const digest = digestOf(all);
        await commit(store, id, digest, all.length);
        assert.deepEqual(await read(store.readBlob(digest)), all);
      } finally {
        await close();
      }
    });

    it('keeps the later of two overlapping appends (one retried at an earlier offset)', async () => {
      const { store, close } = await open();
      try {
        const id = randomUUID();
        await store.createUpload(id);
        // The first append was stored whole, but only 5 MiB of it recorded: the retry starts there.
        const first = randomBytes(6 * MiB);
        await append(store, id, 0, first);
        const again = randomBytes(5 * MiB);
        assert.equal(await append(store, id, 5 * MiB, again), 10 * MiB);
        const all = Buffer.concat([first.subarray(0, 5 * MiB), again]);
        assert.ok((await read(store.readUpload(id, all.length))).equals(all));
        const digest = digestOf(all);
        await commit(store, id, digest, all.length);
        assert.ok((await read(store.readBlob(digest))).equals(all));
      } finally {
        await close();
      }
    });

    it('commits large chunked uploads (parts of 5 MiB and more) byte-exact', async () => {
      const { store, close } = await open();
      try {
        const id = randomUUID();
        await store.createUpload(id);
        const parts = [
          randomBytes(5 * 1024 * 1024),
          randomBytes(6 * 1024 * 1024),
          randomBytes(123),
        ];
        let size = 0;
        for (const p of parts) size = await append(store, id, size, p);
        const all = Buffer.concat(parts);
        const digest = digestOf(all);
        await commit(store, id, digest, all.length);
        const back = await read(store.readBlob(digest));
        assert.equal(back.length, all.length);
        assert.equal(digestOf(back), digest);
      } finally {
        await close();
      }
    });

    it('writes the blob again at commit when a staged copy went missing', async () => {
      const { store, close } = await open();
      try {
        const id = randomUUID();
        const bytes = randomBytes(2000);
        const digest = digestOf(bytes);
        await store.createUpload(id);
        await append(store, id, 0, bytes);
        await store.stageUpload?.(id, digest, bytes.length);
        await store.trashBlob(digest); // a collection took it between stage and commit
        await store.purgeTrashedBlob(digest);
        await store.commitUpload(id, digest);
        await store.releaseUpload?.(id);
        assert.deepEqual(await read(store.readBlob(digest)), bytes);
      } finally {
        await close();
      }
    });

    it('trashes, restores and purges blobs', async () => {
      const { store, close } = await open();
      try {
        const id = randomUUID();
        const bytes = randomBytes(100);
        const digest = digestOf(bytes);
        await store.createUpload(id);
        await append(store, id, 0, bytes);
        await commit(store, id, digest, bytes.length);
        await store.trashBlob(digest);
        assert.ok((await store.listTrash()).includes(digest));
        await assert.rejects(read(store.readBlob(digest)));
        await store.restoreBlob(digest);
        assert.deepEqual(await read(store.readBlob(digest)), bytes);
        await store.trashBlob(digest);
        await store.purgeTrashedBlob(digest);
        assert.ok(!(await store.listTrash()).includes(digest));
        await store.deleteUpload(randomUUID());
      } finally {
        await close();
      }
    });
  });
}

contract('filesystem', async () => {
  const dir = tempDir('store');
  return { store: new FsContentStore(dir), close: async () => removeDir(dir) };
});

it('filesystem: the first blob creates all 256 shard folders; a shard removed later comes back', async () => {
  const dir = tempDir('store');
  try {
    const store = new FsContentStore(dir);
    const blob = async (bytes: Buffer): Promise<string> => {
      const id = randomUUID();
      await store.createUpload(id);
      await append(store, id, 0, bytes);
      const digest = digestOf(bytes);
      await commit(store, id, digest, bytes.length);
      assert.deepEqual(await read(store.readBlob(digest)), bytes);
      return digest;
    };
    const first = await blob(randomBytes(100));
    const shards = await fs.readdir(path.join(dir, 'blobs', 'sha256'));
    assert.equal(shards.length, 256);
    assert.deepEqual(
      shards.sort(),
      Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')),
    );
    // A shard folder gone (removed by hand, say) is made again for the blob that needs it.
    let bytes: Buffer;
    do bytes = randomBytes(100);
    while (digestOf(bytes).slice(7, 9) === first.slice(7, 9));
    await fs.rmdir(path.join(dir, 'blobs', 'sha256', digestOf(bytes).slice(7, 9)));
    await blob(bytes);
  } finally {
    removeDir(dir);
  }
});

if (process.env.BERTH_TEST_S3) {
  contract('S3 (Ceph RADOS Gateway)', async () => {
    const settings = (await testBucket())!;
    return { store: await openS3Store(settings), close: async () => {} };
  });
  it('S3: a one-segment upload is rewritten when small, copied when large: no listing', async () => {
    const settings = (await testBucket())!;
    const sent: string[] = [];
    const store = await openS3Store({ ...settings, onRequest: (op) => sent.push(op) });
    for (const [size, copy] of [
      [5000, ['GetObject', 'PutObject']],
      // An append of 5 MiB or more, announced, goes as a part (see the next test).
      [
        5 * 1024 * 1024,
        ['CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'CopyObject'],
      ],
    ] as const) {
      sent.length = 0;
      const id = randomUUID();
      const bytes = randomBytes(size);
      const digest = digestOf(bytes);
      await store.createUpload(id);
      await store.appendUpload(id, 0, Readable.from([bytes]), () => {}, bytes.length);
      await commit(store, id, digest, bytes.length);
      const written = copy[0] === 'GetObject' ? ['PutObject', ...copy] : copy;
      assert.deepEqual(sent, [...written, 'HeadObject', 'DeleteObject'], `${size} bytes`);
      assert.ok((await read(store.readBlob(digest))).equals(bytes));
    }
    assert.deepEqual(await store.listUploads(), [], 'the uploads left nothing behind');
  });

  it('S3: chunks of 5 MiB and more are the parts of one multipart upload: no copy of each, no listing', async () => {
    const settings = (await testBucket())!;
    const sent: string[] = [];
    const store = await openS3Store({ ...settings, onRequest: (op) => sent.push(op) });
    const id = randomUUID();
    const chunks = [randomBytes(6 * MiB), randomBytes(20 * MiB), randomBytes(5 * MiB)];
    await store.createUpload(id);
    let size = 0;
    for (const c of chunks) size = await appendAnnounced(store, id, size, c);
    const all = Buffer.concat(chunks);
    const digest = digestOf(all);
    await commit(store, id, digest, all.length);
    assert.deepEqual([...sent].sort(), [
      'CompleteMultipartUpload',
      'CopyObject',
      'CreateMultipartUpload',
      'DeleteObject',
      'HeadObject',
      'UploadPart',
      'UploadPart',
      'UploadPart',
    ]);
    assert.ok((await read(store.readBlob(digest))).equals(all));
    assert.deepEqual(await store.listUploads(), [], 'the upload left nothing behind');
  });

  it('S3: a replica continuing a chunked upload waits for the parts another acknowledged', async () => {
    const settings = (await testBucket())!;
    // Two stores on one bucket: two replicas, each holding the parts it acknowledged.
    const [a, b] = [await openS3Store(settings), await openS3Store(settings)];
    const id = randomUUID();
    const chunks = [randomBytes(6 * MiB), randomBytes(5 * MiB), randomBytes(7 * MiB)];
    await a.createUpload(id);
    let size = await appendAnnounced(a, id, 0, chunks[0]!);
    // B reads what A acknowledged (A may still be storing it), then goes on with the upload.
    assert.ok((await read(b.readUpload(id, size))).equals(chunks[0]!));
    size = await appendAnnounced(b, id, size, chunks[1]!);
    assert.ok((await read(a.readUpload(id, size))).equals(Buffer.concat(chunks.slice(0, 2))));
    size = await appendAnnounced(a, id, size, chunks[2]!);
    const all = Buffer.concat(chunks);
    const digest = digestOf(all);
    // B finishes it: its own parts were completed by A already, A's last ones it completes.
    await commit(b, id, digest, size);
    assert.ok((await read(b.readBlob(digest))).equals(all));
    assert.deepEqual(await a.listUploads(), [], 'the upload left nothing behind');
  });

  it('S3: the replica that appended last finishes while an earlier segment of the other is open', async () => {
    const settings = (await testBucket())!;
    // A bounded wait, so a finisher waiting for parts that can never reach the end fails quickly.
    const [a, b] = [
      await openS3Store({ ...settings, foreignPartsWaitMs: 3000 }),
      await openS3Store({ ...settings, foreignPartsWaitMs: 3000 }),
    ];
    const id = randomUUID();
    const chunks = [6, 5, 5, 7].map((n) => randomBytes(n * MiB));
    await a.createUpload(id);
    let size = 0;
    for (const [i, c] of chunks.entries()) size = await appendAnnounced(i % 2 ? b : a, id, size, c);
    const all = Buffer.concat(chunks);
    const digest = digestOf(all);
    // A's segment from 11 MiB is still its open multipart upload; B's own last one follows it.
    await commit(b, id, digest, size);
    assert.ok((await read(a.readBlob(digest))).equals(all));
    assert.deepEqual(await a.listUploads(), [], 'the upload left nothing behind');
  });

  it('S3: a process keeps a bounded number of open segments; one it forgot is finished from the bucket', async () => {
    const settings = (await testBucket())!;
    const sent: string[] = [];
    const store = await openS3Store({
      ...settings,
      openSegmentsKept: 2,
      onRequest: (op) => sent.push(op),
    });
    const uploads = [randomUUID(), randomUUID(), randomUUID()];
    const chunks = uploads.map(() => randomBytes(5 * MiB));
    for (const [i, id] of uploads.entries()) {
      await store.createUpload(id);
      await appendAnnounced(store, id, 0, chunks[i]!);
    }
    // The third upload's segment pushed out the first's (the least recently used).
    for (const [i, id] of [...uploads.entries()].reverse()) {
      sent.length = 0;
      await commit(store, id, digestOf(chunks[i]!), chunks[i]!.length);
      const listed = sent.includes('ListMultipartUploads');
      assert.equal(listed, i === 0, `upload ${i + 1} was ${listed ? '' : 'not '}looked up`);
      assert.ok((await read(store.readBlob(digestOf(chunks[i]!)))).equals(chunks[i]!));
    }
    assert.deepEqual(await store.listUploads(), [], 'the uploads left nothing behind');
  });

  it('S3: a chunk longer than announced is not held in memory, and stores nothing', async () => {
    const settings = (await testBucket())!;
    const store = await openS3Store(settings);
    const id = randomUUID();
    await store.createUpload(id);
    let pulled = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      // A body announced as 5 MiB that would go on for 1 GiB.
      for (let i = 0; i < 1024; i += 1) {
        pulled += 1;
        yield Buffer.alloc(MiB, i);
      }
    }
    const size = await store.appendUpload(id, 0, Readable.from(endless()), () => {}, 5 * MiB);
    assert.ok(size > 5 * MiB, 'the caller is told more came than was announced');
    assert.ok(pulled <= 7, `reading stopped just past the announced length (${pulled} MiB read)`);
    // The same chunk again, as announced, is what the upload holds.
    const bytes = randomBytes(5 * MiB);
    assert.equal(await appendAnnounced(store, id, 0, bytes), bytes.length);
    await commit(store, id, digestOf(bytes), bytes.length);
    assert.ok((await read(store.readBlob(digestOf(bytes)))).equals(bytes));
  });

  it('S3: parts another replica acknowledged but never stored are waited for a bounded time', async () => {
    const settings = (await testBucket())!;
    const store = await openS3Store({ ...settings, foreignPartsWaitMs: 1500 });
    const id = randomUUID();
    await store.createUpload(id);
    // What a replica killed after answering a 6 MiB PATCH leaves: its multipart upload, no part.
    const client = bucketClient(settings);
    await client.send(
      new CreateMultipartUploadCommand({
        Bucket: settings.bucket,
        Key: `${settings.prefix}uploads/${id}/${'0'.padStart(16, '0')}`,
      }),
    );
    const started = performance.now();
    await assert.rejects(
      read(store.readUpload(id, 6 * MiB)),
      (err: NodeJS.ErrnoException) =>
        err.code === 'ENOENT' && /holds 0 of its 6291456 bytes/.test(err.message),
    );
    assert.ok(performance.now() - started >= 1400, 'it waited for the parts before giving up');
    // The expiry sweep finds the orphaned multipart upload, and deleting the upload aborts it.
    assert.deepEqual(await store.listUploads(), [id]);
    await store.deleteUpload(id);
    assert.deepEqual(await store.listUploads(), []);
    const open = await client.send(
      new ListMultipartUploadsCommand({ Bucket: settings.bucket, Prefix: settings.prefix }),
    );
    assert.equal(open.Uploads?.length ?? 0, 0);
    client.destroy();
  });

  it('S3: an acknowledged chunk that cannot be stored fails the upload, as unknown', async () => {
    const settings = (await testBucket())!;
    const store = await openS3Store(settings);
    const id = randomUUID();
    await store.createUpload(id);
    const bytes = randomBytes(6 * MiB);
    await appendAnnounced(store, id, 0, bytes);
    // Its multipart upload goes away (a lifecycle rule, an operator) while or after it is stored.
    const client = bucketClient(settings);
    const open = await client.send(
      new ListMultipartUploadsCommand({ Bucket: settings.bucket, Prefix: settings.prefix }),
    );
    assert.equal(open.Uploads?.length, 1);
    await client.send(
      new AbortMultipartUploadCommand({
        Bucket: settings.bucket,
        Key: open.Uploads![0]!.Key,
        UploadId: open.Uploads![0]!.UploadId,
      }),
    );
    client.destroy();
    await assert.rejects(
      store.stageUpload!(id, digestOf(bytes), bytes.length),
      (err: NodeJS.ErrnoException) =>
        err.code === 'ENOENT' && /start the upload again/.test(err.message),
    );
  });

  it('S3: an append of unannounced length (docker streams a layer so) goes as parts, or one PUT when small', async () => {
    const settings = (await testBucket())!;
    const sent: string[] = [];
    const store = await openS3Store({ ...settings, onRequest: (op) => sent.push(op) });
    const parts = (n: number) => [
      'CreateMultipartUpload',
      ...Array<string>(n).fill('UploadPart'),
      'CompleteMultipartUpload',
    ];
    for (const [size, stored] of [
      [3000, ['PutObject']],
      // 16 MiB parts: two full ones and the rest.
      [40 * 1024 * 1024, parts(3)],
    ] as const) {
      sent.length = 0;
      const id = randomUUID();
      const bytes = randomBytes(size);
      await store.createUpload(id);
      // In 64 KiB chunks, as a request body arrives.
      const chunks: Buffer[] = [];
      for (let at = 0; at < size; at += 65_536) chunks.push(bytes.subarray(at, at + 65_536));
      const seen: Buffer[] = [];
      assert.equal(
        await store.appendUpload(id, 0, Readable.from(chunks), (c) => seen.push(c)),
        size,
      );
      assert.ok(Buffer.concat(seen).equals(bytes), 'every byte is observed once, in order');
      assert.deepEqual([...sent].sort(), [...stored].sort(), `${size} bytes stored`);
      assert.ok((await read(store.readUpload(id, size))).equals(bytes), `${size} bytes read back`);
      await commit(store, id, digestOf(bytes), size);
      assert.ok((await read(store.readBlob(digestOf(bytes)))).equals(bytes), `${size} bytes`);
    }
    assert.deepEqual(await store.listUploads(), [], 'the uploads left nothing behind');
  });

  it('S3: a blob received whole costs one PUT and a HEAD, or its parts, and shows only once staged', async () => {
    const settings = (await testBucket())!;
    const sent: string[] = [];
    const store = await openS3Store({ ...settings, onRequest: (op) => sent.push(op) });
    const absent = async (digest: string) =>
      assert.rejects(
        read(store.readBlob(digest)),
        (err: { name?: string }) => err.name === 'NoSuchKey',
      );
    const multipart = ['CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload'];
    for (const [size, announced, expected] of [
      [5000, true, ['PutObject']],
      [0, true, ['PutObject']],
      [17 * 1024 * 1024, true, multipart],
      [
        40 * 1024 * 1024,
        false,
        [...multipart.slice(0, 2), 'UploadPart', 'CompleteMultipartUpload'],
      ],
      // Unannounced but within one part: held, then one PUT (no multipart upload).
      [3000, false, ['PutObject']],
    ] as const) {
      sent.length = 0;
      const bytes = randomBytes(size);
      const digest = digestOf(bytes);
      const seen: Buffer[] = [];
      const blob = await store.receiveBlob!(
        digest,
        Readable.from([bytes.subarray(0, size >> 1), bytes.subarray(size >> 1)]),
        (c) => seen.push(c),
        announced ? size : undefined,
      );
      assert.equal(blob.size, size);
      assert.ok(Buffer.concat(seen).equals(bytes), 'every byte is observed once, in order');
      const beforeStage = sent.length;
      await absent(digest);
      sent.length = beforeStage;
      await blob.stage();
      await blob.confirm();
      await blob.drop();
      assert.deepEqual(sent, [...expected, 'HeadObject'], `${size} bytes`);
      assert.ok((await read(store.readBlob(digest))).equals(bytes), `${size} bytes read back`);
    }
    // Dropped before staging (a digest that did not match): the key keeps what it held.
    const honest = randomBytes(2000);
    const digest = digestOf(honest);
    const kept = await store.receiveBlob!(digest, Readable.from([honest]), () => {}, honest.length);
    await kept.stage();
    await kept.drop();
    for (const announced of [true, false]) {
      const forged = await store.receiveBlob!(
        digest,
        Readable.from([Buffer.alloc(2000, 1)]),
        () => {},
        announced ? 2000 : undefined,
      );
      await forged.drop();
      await forged.drop();
    }
    assert.ok((await read(store.readBlob(digest))).equals(honest));
    const never = randomBytes(100);
    await (await store.receiveBlob!(digestOf(never), Readable.from([never]), () => {})).drop();
    await absent(digestOf(never));
  });

  it('S3: a whole blob of more parts than go at once is stored byte-exact', async () => {
    const settings = (await testBucket())!;
    const sent: string[] = [];
    const store = await openS3Store({ ...settings, onRequest: (op) => sent.push(op) });
    // 80 MiB in 1 MiB chunks, unannounced: five 16 MiB parts, the fifth read while four are sent.
    const bytes = randomBytes(80 * MiB);
    const chunks = Array.from({ length: 80 }, (_, i) => bytes.subarray(i * MiB, (i + 1) * MiB));
    const digest = digestOf(bytes);
    const blob = await store.receiveBlob!(digest, Readable.from(chunks), () => {});
    assert.equal(blob.size, bytes.length);
    await blob.stage();
    await blob.drop();
    assert.deepEqual(sent, [
      'CreateMultipartUpload',
      ...Array<string>(5).fill('UploadPart'),
      'CompleteMultipartUpload',
    ]);
    assert.ok((await read(store.readBlob(digest))).equals(bytes));
  });

  it('S3: presigned blob URLs serve the bytes straight from the gateway, and expire', async () => {
    const settings = (await testBucket())!;
    const store = await openS3Store({ ...settings, redirectSeconds: 2 });
    const id = randomUUID();
    const bytes = randomBytes(3000);
    const digest = digestOf(bytes);
    await store.createUpload(id);
    await append(store, id, 0, bytes);
    await commit(store, id, digest, bytes.length);
    const url = await store.redirectUrl!(digest);
    assert.ok(url?.startsWith(settings.endpoint!), url);
    const res = await fetch(url!);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal((await fetch(url!)).status, 403, 'an expired URL is refused');
    const plain = await openS3Store(settings);
    assert.equal(await plain.redirectUrl!(digest), undefined, 'no redirects unless configured');
  });
} else if (process.env.CI)
  it('the S3 content store', () => {
    throw new Error('CI is set and BERTH_TEST_S3 is not: scripts/test.sh starts Ceph for it');
  });
else
  process.stderr.write(
    'SKIP the S3 content store: BERTH_TEST_S3 is not set (scripts/test.sh sets it)\n',
  );
