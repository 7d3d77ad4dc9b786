import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

/**
 * A second copy of a module, as the S3 driver loads its own (it is not in the bundle): the same
 * file under another URL is another module instance.
 */
async function secondCopy<T>(relative: string): Promise<T> {
  const url = new URL(relative, import.meta.url);
  url.searchParams.set('copy', String(Math.random()));
  return (await import(url.href)) as T;
}

type ChunkRelease = typeof import('./chunk-release.js');
type ReceivedChunks = typeof import('./received-chunks.js');
type Errors = typeof import('../oci/errors.js');

describe('state shared by every copy of a module', () => {
  it('frees a chunk one copy claimed when another finishes it, and counts it once', async () => {
    const [bundle, driver] = [
      await secondCopy<ChunkRelease>('./chunk-release.ts'),
      await secondCopy<ChunkRelease>('./chunk-release.ts'),
    ];
    assert.notEqual(bundle.finishChunk, driver.finishChunk, 'two module instances');
    const body = bundle.readAlone(Readable.from([]));
    assert.ok(driver.isReadAlone(body));
    const chunk = Buffer.from(randomBytes(4096));
    const before = bundle.freedChunkBytes();
    bundle.claimChunk(chunk);
    driver.finishChunk(chunk);
    assert.equal(chunk.byteLength, 0, 'freed by the other copy');
    assert.equal(bundle.freedChunkBytes() - before, 4096);
    assert.equal(driver.freedChunkBytes() - before, 4096);
  });

  it('takes back what one copy noted received when another frees it', async () => {
    // The collector a fresh copy uses is the global `gc` when there is one: a counter here.
    const global = globalThis as { gc?: unknown };
    const exposed = global.gc;
    let collections = 0;
    global.gc = () => {
      collections += 1;
    };
    try {
      const [bundle, driver] = [
        await secondCopy<ReceivedChunks>('./received-chunks.ts'),
        await secondCopy<ReceivedChunks>('./received-chunks.ts'),
      ];
      // Noted by one copy, freed (taken back) by the other: the next note stays under the point
      // of collecting. Counted apart, it would pass it.
      bundle.noteReceived(1000, 1500);
      driver.forgetReceived(1000);
      bundle.noteReceived(1000, 1500);
      assert.equal(collections, 0);
      bundle.noteReceived(1000, 1500);
      assert.equal(collections, 1, 'past the point, one collection');
    } finally {
      global.gc = exposed;
    }
  });

  it('knows a BerthError made by another copy of its module', async () => {
    const [edge, driver] = [
      await secondCopy<Errors>('../oci/errors.ts'),
      await secondCopy<Errors>('../oci/errors.ts'),
    ];
    const err = new driver.BerthError('SIZE_INVALID', 'too long');
    assert.ok(err instanceof edge.BerthError);
    assert.equal(err.status, 400);
    assert.ok(!(new Error('plain') instanceof edge.BerthError));
    assert.ok(!((null as unknown as object) instanceof edge.BerthError));
  });
});
