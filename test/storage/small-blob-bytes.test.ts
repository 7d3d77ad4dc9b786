/** The small blobs kept in memory: bounded in bytes, least recently used forgotten first. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SMALL_BLOB_BYTES, SmallBlobBytes } from '../../src/registry/index.js';

describe('small blob bytes kept in memory', () => {
  it('keeps at most its bound, forgetting the least recently used, and never a large blob', () => {
    const kept = new SmallBlobBytes(3000);
    kept.set('a', Buffer.alloc(1000, 1));
    kept.set('b', Buffer.alloc(1000, 2));
    kept.set('c', Buffer.alloc(1000, 3));
    assert.ok(kept.get('a')); // a is now the most recently used
    kept.set('d', Buffer.alloc(1000, 4));
    assert.equal(kept.get('b'), undefined);
    assert.deepEqual(
      ['a', 'c', 'd'].map((k) => kept.get(k)?.[0]),
      [1, 3, 4],
    );
    kept.set('big', Buffer.alloc(SMALL_BLOB_BYTES + 1));
    assert.equal(kept.get('big'), undefined);
  });
});
