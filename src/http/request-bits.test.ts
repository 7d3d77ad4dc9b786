import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseContentRange, parsePageSize, parseRange } from './request-bits.js';
import { parseV2Path } from './v2-paths.js';

describe('request parsing', () => {
  it('parses Content-Range of upload chunks', () => {
    assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
    assert.equal(parseContentRange(undefined), undefined);
    for (const bad of ['abc', 'bytes=0-99', 'bytes 0-99/100', ' 0-99', '0-99 ', '9-1', '-5', '0-'])
      assert.throws(() => parseContentRange(bad), /the form is <start>-<end>/, bad);
  });

  it('parses Range against a size', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-5', 100), { start: 95, end: 99 });
    assert.deepEqual(parseRange('bytes=50-500', 100), { start: 50, end: 99 });
    assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=0-1,5-6', 100), undefined);
    assert.equal(parseRange(undefined, 100), undefined);
  });

  it('parses page sizes', () => {
    assert.equal(parsePageSize(new URLSearchParams('n=5'), 100), 5);
    assert.equal(parsePageSize(new URLSearchParams('n=500'), 100), 100);
    assert.equal(parsePageSize(new URLSearchParams(''), 100), undefined);
    assert.throws(() => parsePageSize(new URLSearchParams('n=x'), 100));
  });

  it('parses /v2 paths from the right, names with slashes included', () => {
    assert.deepEqual(parseV2Path('/v2/'), { kind: 'base' });
    assert.deepEqual(parseV2Path('/v2/_catalog'), { kind: 'catalog' });
    assert.deepEqual(parseV2Path('/v2/a/b/c/manifests/v1'), {
      kind: 'manifest',
      name: 'a/b/c',
      reference: 'v1',
    });
    assert.deepEqual(parseV2Path('/v2/a/blobs/uploads/'), { kind: 'uploads', name: 'a' });
    assert.deepEqual(parseV2Path('/v2/x/blobs/blobs/uploads/u'), {
      kind: 'upload',
      name: 'x/blobs',
      id: 'u',
    });
    assert.deepEqual(parseV2Path('/v2/a/tags/list'), { kind: 'tags', name: 'a' });
    assert.deepEqual(parseV2Path('/v2/a/referrers/sha256%3Aab'), {
      kind: 'referrers',
      name: 'a',
      digest: 'sha256:ab',
    });
    assert.throws(() => parseV2Path('/v2/a/%2E%2E/b/tags/list'));
    assert.throws(() => parseV2Path('/v2/a/nothing'));
  });
});
