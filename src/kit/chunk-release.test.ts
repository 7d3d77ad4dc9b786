import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  claimChunk,
  finishChunk,
  holdChunk,
  isReadAlone,
  readAlone,
  releaseChunk,
} from './chunk-release.js';
import { BufferPool } from './buffer-pool.js';
import { freeNow } from './free-now.js';

/** A chunk with an ArrayBuffer of its own, as Node's HTTP parser hands a body's bytes over. */
const ownChunk = (size = 65_536): Buffer => Buffer.from(randomBytes(size));

describe('chunk release', () => {
  it('frees a claimed chunk only once the last consumer finished and every hold is released', () => {
    const hashedLater = ownChunk();
    claimChunk(hashedLater);
    holdChunk(hashedLater);
    finishChunk(hashedLater);
    assert.equal(hashedLater.byteLength, 65_536, 'freed while the hash still held it');
    releaseChunk(hashedLater);
    assert.equal(hashedLater.byteLength, 0);

    const hashedFirst = ownChunk();
    claimChunk(hashedFirst);
    holdChunk(hashedFirst);
    releaseChunk(hashedFirst);
    assert.equal(hashedFirst.byteLength, 65_536, 'freed before the last consumer had it');
    finishChunk(hashedFirst);
    assert.equal(hashedFirst.byteLength, 0);
  });

  it('never frees a chunk nobody claimed, nor one sharing its memory', () => {
    const unclaimed = ownChunk();
    const copy = Buffer.from(unclaimed);
    holdChunk(unclaimed);
    releaseChunk(unclaimed);
    finishChunk(unclaimed);
    assert.deepEqual(unclaimed, copy);

    // A view of part of a larger buffer (a stream's slice) and a small Buffer cut from Node's pool.
    const whole = ownChunk(1 << 20);
    const part = whole.subarray(4096, 8192);
    const small = Buffer.from('a small chunk');
    for (const chunk of [part, small]) {
      claimChunk(chunk);
      finishChunk(chunk);
    }
    assert.equal(whole.byteLength, 1 << 20);
    assert.equal(part.byteLength, 4096);
    assert.equal(small.toString(), 'a small chunk');
  });

  it('marks the bodies read alone, and only those', () => {
    const body = Readable.from([]);
    assert.equal(isReadAlone(body), false);
    assert.equal(readAlone(body), body);
    assert.equal(isReadAlone(body), true);
    assert.equal(isReadAlone(Readable.from([])), false);
  });

  it('frees a buffer at once, and cannot free Node’s own pool', () => {
    const before = process.memoryUsage().arrayBuffers;
    const buffers = Array.from({ length: 64 }, () => Buffer.allocUnsafeSlow(1 << 20));
    buffers.forEach((b) => freeNow(b.buffer as ArrayBuffer));
    assert.ok(buffers.every((b) => b.byteLength === 0));
    // 64 MiB made and freed without a collection: the count is back where it was.
    assert.ok(process.memoryUsage().arrayBuffers < before + (8 << 20));
    const pooled = Buffer.from('cut from the pool');
    freeNow(pooled.buffer as ArrayBuffer);
    assert.equal(pooled.toString(), 'cut from the pool');
  });
});

describe('buffer pool', () => {
  it('keeps up to its number of returned buffers and frees the rest at once', () => {
    const pool = new BufferPool(1 << 16, 2);
    const taken = [pool.take(), pool.take(), pool.take()];
    taken.forEach((b) => pool.give(b));
    assert.deepEqual(
      taken.map((b) => b.byteLength),
      [1 << 16, 1 << 16, 0],
    );
    assert.deepEqual(pool.counts(), { kept: 2, made: 3 });
    // The kept ones are handed out again; a foreign buffer is neither kept nor freed.
    const again = [pool.take(), pool.take()];
    assert.ok(again.every((b) => taken.includes(b) && b.byteLength === 1 << 16));
    const foreign = Buffer.allocUnsafeSlow(1 << 16);
    pool.give(foreign);
    assert.equal(foreign.byteLength, 1 << 16);
    assert.deepEqual(pool.counts(), { kept: 0, made: 3 });
  });

  it('never hands out a buffer freed by a mistaken second return', () => {
    const pool = new BufferPool(1 << 16, 1);
    const a = pool.take();
    const b = pool.take();
    pool.give(a);
    pool.give(b); // beyond `keep`: freed
    pool.give(a); // given twice: freed, though the pool still lists it
    const next = pool.take();
    assert.equal(next.byteLength, 1 << 16);
    assert.notEqual(next, a);
  });

  it('with an idle time, frees what it kept once idle, never a buffer in use', async () => {
    const pool = new BufferPool(1 << 16, 4, 20);
    const kept = [pool.take(), pool.take(), pool.take()];
    const inUse = pool.take();
    kept.forEach((b) => pool.give(b));
    pool.give(kept[0]!); // given twice by mistake: listed twice, freed once
    for (let waited = 0; pool.counts().kept > 0; waited += 10) {
      assert.ok(waited < 30_000, 'the kept buffers were never freed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(kept.every((b) => b.byteLength === 0));
    assert.equal(inUse.byteLength, 1 << 16);
    pool.give(inUse);
    assert.deepEqual(pool.counts(), { kept: 1, made: 4 });
  });
});
