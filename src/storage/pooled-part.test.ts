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

  it('frees a claimed chunk once copied, and leaves an unclaimed one as it was', async () => {
    const part = new PooledPart(new BufferPool(1 << 16, 2));
    // Claimed as an upload's reader claims a request body's chunks, and hashed.
    const hash = runningDigest();
    const [claimed] = (await digesting(
      Readable.from([Buffer.from(randomBytes(4096))]),
      hash,
      () => true,
    ).toArray()) as Buffer[];
    await hash.digest();
    const unclaimed = Buffer.from(randomBytes(4096));
    const copy = Buffer.from(unclaimed);
    part.add(claimed!);
    part.add(unclaimed);
    assert.equal(claimed!.byteLength, 0);
    assert.ok(unclaimed.equals(copy));
    part.release();
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
