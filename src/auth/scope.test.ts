import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatScope, parseScope, parseScopes } from './scope.js';

describe('token scopes', () => {
  it('parses repository, class and registry scopes', () => {
    assert.deepEqual(parseScope('repository:acme/app:pull,push'), {
      type: 'repository',
      name: 'acme/app',
      actions: ['pull', 'push'],
    });
    assert.equal(parseScope('repository(plugin):acme/p:pull').type, 'repository(plugin)');
    assert.deepEqual(parseScope('registry:catalog:*').actions, ['*']);
    assert.equal(formatScope(parseScope('repository:a/b:pull,push')), 'repository:a/b:pull,push');
  });

  it('splits space-separated scopes and repeated parameters', () => {
    const scopes = parseScopes(['repository:a/b:pull repository:c/d:push', 'registry:catalog:*']);
    assert.deepEqual(
      scopes.map((s) => s.name),
      ['a/b', 'c/d', 'catalog'],
    );
  });

  it('refuses malformed scopes with a message', () => {
    for (const bad of [
      'repository',
      'repository:a/b',
      'repository::pull',
      'repository:a/b:',
      'repository:a/b:pu$h',
      'repository:../etc:pull',
      'repository:UPPER/case:pull',
      'REPO:a:pull',
      'registry:other:*',
    ])
      assert.throws(() => parseScope(bad), /scope/, bad);
  });
});
