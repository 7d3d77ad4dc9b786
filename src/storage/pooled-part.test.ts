import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { BufferPool, digesting, runningDigest } from '../kit/index.js';
import { PooledPart } from './pooled-part.js';

describe('a part held in pooled buffers', () => {
  it('copies chunks of any size across buffer boundaries and streams them back in order', async () => {
    const pool = new BufferPool(1000, 8);
    const part = new PooledPart(pool);
    const chunks = [1, 999, 1000, 1, 2500, 0, 499].map((n) => randomBytes(n));
    chunks.forEach((c) => part.add(c));
    assert.equal(part.length, 5000);
    assert.ok((await buffer(part.body())).equals(Buffer.concat(chunks)));
    // Read again (a retried request reads its body anew): the same bytes.
    assert.ok((await buffer(part.body())).equals(Buffer.concat(chunks)));
    assert.deepEqual(pool.counts(), { kept: 0, made: 5 });
    part.release();
    part.release();
    assert.deepEqual(pool.counts(), { kept: 5, made: 5 });
    assert.equal(part.length, 0);
  });

  it('keeps a small part as its chunks until released; copies a larger one and frees its chunks', async () => {
    const pool = new BufferPool(1 << 16, 2);
    // Claimed as an upload's reader claims a request body's chunks, and hashed.
    const claimed = async (size: number): Promise<Buffer> => {
      const hash = runningDigest();
      const [chunk] = (await digesting(
        Readable.from([Buffer.from(randomBytes(size))]),
        hash,
        () => true,
      ).toArray()) as Buffer[];
      await hash.digest();
      return chunk!;
    };
    const small = new PooledPart(pool);
    const few = await claimed(4096);
    const fewBytes = Buffer.from(few);
    small.add(few);
    assert.equal(few.byteLength, 4096, 'a small part holds its chunk as it is');
    assert.deepEqual(pool.counts(), { kept: 0, made: 0 }, 'and takes no buffer');
    assert.ok((await buffer(small.body())).equals(fewBytes));
    small.release();
    assert.equal(few.byteLength, 0, 'freed once released');

    const large = new PooledPart(pool);
    const first = await claimed(4096);
    const second = await claimed(1 << 16);
    const expected = Buffer.concat([first, second]);
    const unclaimed = Buffer.from(randomBytes(4096));
    const unclaimedCopy = Buffer.from(unclaimed);
    large.add(first);
    large.add(second);
    assert.equal(first.byteLength + second.byteLength, 0, 'copied, then freed');
    large.add(unclaimed);
    assert.ok(unclaimed.equals(unclaimedCopy), 'a chunk nobody claimed is left as it was');
    assert.ok((await buffer(large.body())).equals(Buffer.concat([expected, unclaimedCopy])));
    large.release();
    assert.deepEqual(pool.counts(), { kept: 2, made: 2 });
  });

  it('reuses the buffers a released part gave back', () => {
    const pool = new BufferPool(1 << 10, 4);
    for (let round = 0; round < 3; round += 1) {
      const part = new PooledPart(pool);
      part.add(randomBytes(3000));
      part.release();
    }
    assert.deepEqual(pool.counts(), { kept: 3, made: 3 });
  });
});
