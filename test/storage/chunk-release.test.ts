/**
 * An upload's chunks are freed as soon as they are hashed and stored (src/kit/chunk-release.ts),
 * through the filesystem store's real sinks (direct and through the page cache) and the pooled
 * hash: the blob's bytes and digest come out right, every chunk of a body read alone is freed,
 * and a body someone else also reads (a pull-through cache's stream, teed to its client) keeps
 * every byte.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it, type TestContext } from 'node:test';
import {
  digesting,
  digestsOffLoop,
  directIoAddon,
  isReadAlone,
  noteReceivedChunk,
  readAlone,
  runningDigest,
} from '../../src/kit/index.js';
import { FsContentStore, openS3Store } from '../../src/storage/index.js';
import { testBucket } from '../helpers/s3.js';
import { skippedWithoutAddons } from '../helpers/addons.js';
import { removeDir, tempDir } from '../helpers/server.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Skips (failing under CI) without the addons the upload path uses. */
function skipWithoutAddons(t: TestContext): boolean {
  return skippedWithoutAddons(t, {
    direct_io: directIoAddon() !== undefined,
    pooled_hash: digestsOffLoop(),
  });
}

/** 10 MiB as chunks with ArrayBuffers of their own, as Node's HTTP parser hands them over. */
function receivedChunks(): Buffer[] {
  return Array.from({ length: 160 }, () => Buffer.from(randomBytes(65_536)));
}

describe('chunk release on upload', () => {
  for (const directWrites of [true, false]) {
    it(`frees a request body's chunks once hashed and written (${directWrites ? 'direct' : 'through the cache'})`, async (t) => {
      if (skipWithoutAddons(t)) return;
      const dir = tempDir('chunk-release');
      try {
        const store = new FsContentStore(path.join(dir, 'store'), { directWrites });
        const chunks = receivedChunks();
        const expected = Buffer.concat(chunks);
        const body = readAlone(Readable.from(chunks));
        const hash = runningDigest();
        const id = randomUUID();
        await store.createUpload(id);
        const freeable = isReadAlone(body) ? () => true : undefined;
        const size = await store.appendUpload(
          id,
          0,
          digesting(body, hash, freeable),
          noteReceivedChunk,
        );
        const digest = `sha256:${await hash.digest()}`;
        assert.equal(size, expected.length);
        assert.equal(digest, `sha256:${sha(expected)}`);
        await store.commitUpload(id, digest);
        assert.ok(readFileSync(store.localBlobFile(digest)).equals(expected));
        const left = chunks.filter((c) => c.byteLength > 0).length;
        assert.equal(left, 0, `${left} of ${chunks.length} chunks were not freed`);
      } finally {
        removeDir(dir);
      }
    });
  }

  it('leaves every byte of a body another reader also has (a stream teed to a client)', async (t) => {
    if (skipWithoutAddons(t)) return;
    const dir = tempDir('chunk-shared');
    try {
      const store = new FsContentStore(path.join(dir, 'store'), { directWrites: true });
      const chunks = receivedChunks();
      const expected = Buffer.concat(chunks);
      const toStore = new PassThrough();
      const toClient = new PassThrough();
      const upstream = Readable.from(chunks);
      upstream.on('data', (chunk: Buffer) => {
        toStore.write(chunk);
        toClient.write(chunk);
      });
      upstream.on('end', () => {
        toStore.end();
        toClient.end();
      });
      // The client reads only once the store has everything, so a freed chunk would show.
      const hash = runningDigest();
      const id = randomUUID();
      await store.createUpload(id);
      const freeable = isReadAlone(toStore) ? () => true : undefined;
      await store.appendUpload(id, 0, digesting(toStore, hash, freeable), noteReceivedChunk);
      assert.equal(await hash.digest(), sha(expected));
      assert.ok((await buffer(toClient)).equals(expected));
      assert.ok(chunks.every((c) => c.byteLength === 65_536));
    } finally {
      removeDir(dir);
    }
  });
});

/** `bytes` as fresh 64 KiB chunks made as they are read (as a request body arrives), kept in `made`. */
function arriving(bytes: Buffer, made: Buffer[]): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += 65_536) {
        const chunk = Buffer.allocUnsafeSlow(Math.min(65_536, bytes.length - at));
        bytes.copy(chunk, 0, at, at + chunk.length);
        made.push(chunk);
        yield chunk;
      }
    })(),
  );
}

if (process.env.BERTH_TEST_S3) {
  // V8 counts buffers made since its last full collection against the old generation's limit:
  // an upload's chunks held until their part was sent (up to 64 MiB of them) started a full
  // collection every few parts. Copied into the pool's buffers, they are freed once hashed.
  it('S3: parts held until sent are copies, their chunks freed once hashed', async (t) => {
    if (skipWithoutAddons(t)) return;
    const store = await openS3Store((await testBucket())!);
    const part = randomBytes(8 << 20);
    const made: Buffer[] = [];
    const liveBytes = () => made.reduce((sum, c) => sum + c.byteLength, 0);
    const id = randomUUID();
    const hash = runningDigest();
    await store.createUpload(id);
    let size = 0;
    for (let i = 0; i < 8; i += 1) {
      const body = readAlone(arriving(part, made));
      const freeable = isReadAlone(body) ? () => true : undefined;
      size = await store.appendUpload(
        id,
        size,
        digesting(body, hash, freeable),
        noteReceivedChunk,
        part.length,
      );
      // Acknowledged, its part not sent yet (that takes the gateway's answer): only the chunks
      // the hash has not reached may be alive (its backlog is bounded at 4 MiB).
      const live = liveBytes();
      assert.ok(live < part.length, `${live} bytes of chunks alive after part ${i + 1}`);
    }
    const digest = `sha256:${await hash.digest()}`;
    await store.stageUpload!(id, digest, size);
    await store.commitUpload(id, digest);
    await store.releaseUpload!(id);
    assert.equal(liveBytes(), 0, 'every chunk was freed');
    const back = createHash('sha256');
    for await (const chunk of store.readBlob(digest)) back.update(chunk as Buffer);
    assert.equal(`sha256:${back.digest('hex')}`, digest, 'the blob holds the bytes sent');
  });
}
