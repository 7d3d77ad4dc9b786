import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { BerthError } from './errors.js';
import {
  isValidName,
  isValidTag,
  parseDigest,
  parseManifestReference,
  repositoryOfGun,
} from './reference.js';

describe('reference grammar', () => {
  it('accepts the names of the distribution spec', () => {
    for (const name of [
      'a',
      'library/busybox',
      'a/b/c/d',
      'my-org/my.repo_name',
      'a__b',
      'a---b',
      '0/1',
    ]) {
      assert.ok(isValidName(name), name);
    }
  });

  it('rejects names that are malformed or could escape a path', () => {
    for (const name of [
      '',
      'A',
      '/a',
      'a/',
      'a//b',
      '../a',
      'a/../b',
      'a/./b',
      '.a',
      'a.',
      '-a',
      'a_-b',
      'a/.git',
      'a\\b',
      'a b',
      'a%2f',
      'x'.repeat(256),
    ]) {
      assert.ok(!isValidName(name), name);
    }
  });

  it('accepts and rejects tags per the grammar', () => {
    for (const tag of ['latest', 'v1.0.0', '_x', 'A-b_c.d', 'x'.repeat(128)])
      assert.ok(isValidTag(tag), tag);
    for (const tag of ['', '-x', '.x', 'x'.repeat(129), 'a/b', 'a:b'])
      assert.ok(!isValidTag(tag), tag);
  });

  it('parses sha256 and sha512 digests and refuses others', () => {
    const hex = 'a'.repeat(64);
    assert.equal(parseDigest(`sha256:${hex}`).hex, hex);
    assert.equal(parseDigest(`sha512:${'b'.repeat(128)}`).algorithm, 'sha512');
    const codes = (value: string): string => {
      try {
        parseDigest(value);
        return 'ok';
      } catch (err) {
        return (err as BerthError).code;
      }
    };
    assert.equal(codes('sha256:abc'), 'DIGEST_INVALID');
    assert.equal(codes(`sha256:${'A'.repeat(64)}`), 'DIGEST_INVALID');
    assert.equal(codes('nodigest'), 'DIGEST_INVALID');
    assert.equal(codes(`md5:${'a'.repeat(32)}`), 'UNSUPPORTED');
    assert.equal(codes(`sha256:${hex}/../x`), 'DIGEST_INVALID');
  });

  it('tells tags from digests in manifest references', () => {
    assert.deepEqual(parseManifestReference('v1'), { kind: 'tag', tag: 'v1' });
    assert.equal(parseManifestReference(`sha256:${'c'.repeat(64)}`).kind, 'digest');
    assert.throws(
      () => parseManifestReference('-bad'),
      (err: BerthError) => err.code === 'TAG_INVALID',
    );
  });
});

test('a Notary GUN names the repository after its registry host', () => {
  assert.equal(repositoryOfGun('127.0.0.1:5000/team/app'), 'team/app');
  assert.equal(repositoryOfGun('registry.example.test/team/app'), 'team/app');
  assert.equal(repositoryOfGun('localhost/app'), 'app');
  assert.equal(repositoryOfGun('[::1]:5000/app'), 'app');
  assert.equal(repositoryOfGun('team/app'), 'team/app');
  assert.equal(repositoryOfGun('127.0.0.1:5000'), undefined);
  assert.equal(repositoryOfGun('127.0.0.1:5000/../etc'), undefined);
  assert.equal(repositoryOfGun('host:port:x/app'), undefined);
});
