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
import { FsContentStore } from '../../src/storage/index.js';
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
