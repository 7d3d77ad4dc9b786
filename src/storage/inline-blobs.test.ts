import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { ContentStore, SmallBlobTable } from './driver.js';
import { InlineSmallBlobs } from './inline-blobs.js';

// Small whole blobs never reach the wrapped store or the table here.
const wrapper = new InlineSmallBlobs({} as ContentStore, {} as SmallBlobTable, 1000);

describe('a small blob received whole beside another store', () => {
  it('holds the bytes of a body within its announced length, each chunk observed', async () => {
    const seen: Buffer[] = [];
    const parts = [Buffer.alloc(300, 1), Buffer.alloc(200, 2)];
    const received = await wrapper.receiveBlob(
      'sha256:x',
      Readable.from(parts),
      (c) => seen.push(c),
      500,
    );
    assert.equal(received.size, 500);
    assert.ok(received.inline?.equals(Buffer.concat(parts)));
    assert.equal(Buffer.concat(seen).length, 500);
  });

  it('stops one chunk past the announced length, holds nothing and drops the rest', async () => {
    let pulled = 0;
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 10; i += 1) {
          pulled += 1;
          yield Buffer.alloc(400, i);
        }
      })(),
      { objectMode: false },
    );
    const received = await wrapper.receiveBlob('sha256:x', source, () => {}, 500);
    assert.equal(received.size, 800, 'the size the caller refuses the blob by');
    assert.equal(received.inline, undefined);
    assert.ok(pulled < 10, 'the body was not read to its end');
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(source.destroyed, 'the rest of the body is dropped');
  });
});
