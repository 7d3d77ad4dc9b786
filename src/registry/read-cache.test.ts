/** The tag pages a process caches: found again until the repository's tags change here or expire. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Meta } from '../meta/index.js';
import { ReadCache } from './read-cache.js';

/** A stand-in database with one repository's tags, counting the pages it is asked for. */
function tagsOf(names: string[]): { meta: Meta; queries: () => number; hold: () => () => void } {
  let queries = 0;
  let held: Promise<void> | undefined;
  const meta = {
    tags: {
      list: async (_id: number, limit: number, last?: string) => {
        queries += 1;
        // The page as the database holds it when the query starts, answered once let go.
        const page = names.filter((n) => last === undefined || n > last).slice(0, limit);
        await held;
        return page;
      },
    },
  } as unknown as Meta;
  const hold = () => {
    let release!: () => void;
    held = new Promise((resolve) => (release = resolve));
    return () => {
      held = undefined;
      release();
    };
  };
  return { meta, queries: () => queries, hold };
}

describe('the cached tag pages', () => {
  it('answers a page again from memory, and reads it anew after a tag of its repository changed', async () => {
    const names = ['a', 'b', 'c'];
    const { meta, queries } = tagsOf(names);
    const cache = new ReadCache(60_000);
    assert.deepEqual(await cache.tagPage(meta, 1, 2), ['a', 'b']);
    assert.deepEqual(await cache.tagPage(meta, 1, 2), ['a', 'b']);
    assert.deepEqual(await cache.tagPage(meta, 1, 2, 'b'), ['c']);
    assert.equal(queries(), 2);
    // Another repository's change leaves this one's pages alone.
    cache.tagChanged(2, 'x');
    await cache.tagPage(meta, 1, 2);
    assert.equal(queries(), 2);
    names.splice(0, 0, '0');
    cache.tagChanged(1, '0');
    assert.deepEqual(await cache.tagPage(meta, 1, 2), ['0', 'a']);
    assert.equal(queries(), 3);
    // A deleted manifest (its tags with it), a collection: read anew.
    cache.manifestDeleted(1, 'sha256:x');
    await cache.tagPage(meta, 1, 2);
    cache.clear();
    await cache.tagPage(meta, 1, 2);
    assert.equal(queries(), 5);
  });

  it('never keeps a page read before a change that came while it was being read', async () => {
    const names = ['a', 'b'];
    const { meta, queries, hold } = tagsOf(names);
    const cache = new ReadCache(60_000);
    const release = hold();
    const before = cache.tagPage(meta, 1, 10);
    names.push('c');
    cache.tagChanged(1, 'c');
    release();
    assert.deepEqual(await before, ['a', 'b']);
    assert.deepEqual(await cache.tagPage(meta, 1, 10), ['a', 'b', 'c']);
    assert.equal(queries(), 2);
  });

  it('keeps no page of more than 251 names, and none with no time to live', async () => {
    const { meta, queries } = tagsOf(['a']);
    const cache = new ReadCache(60_000);
    await cache.tagPage(meta, 1, 252);
    await cache.tagPage(meta, 1, 252);
    assert.equal(queries(), 2);
    const uncached = new ReadCache(0);
    await uncached.tagPage(meta, 1, 10);
    await uncached.tagPage(meta, 1, 10);
    assert.equal(queries(), 4);
  });
});
