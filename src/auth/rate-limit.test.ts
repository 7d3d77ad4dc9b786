import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureLimiter } from './rate-limit.js';
import { parseTokenText, randomSecret, secretMatches, tokenText } from './secrets.js';

describe('failed login limiter', () => {
  it('refuses after max failures within the window, and forgives after it', () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.retryAfter('u'), 0);
      limiter.fail('u');
    }
    assert.equal(limiter.retryAfter('u'), 60);
    assert.equal(limiter.retryAfter('other'), 0);
    now += 30_000;
    assert.equal(limiter.retryAfter('u'), 30);
    now += 30_001;
    assert.equal(limiter.retryAfter('u'), 0);
    limiter.fail('u');
    limiter.clear('u');
    assert.equal(limiter.retryAfter('u'), 0);
  });
});

describe('opaque secrets', () => {
  it('round-trips token text and compares hashes', () => {
    const { secret, hash } = randomSecret();
    const text = tokenText('pat', 42, secret);
    assert.deepEqual(parseTokenText('pat', text), { id: 42, secret });
    assert.equal(parseTokenText('rt', text), undefined);
    assert.equal(parseTokenText('pat', `${text}x`), undefined);
    assert.ok(secretMatches(secret, hash));
    const other = secret.endsWith('A') ? 'B' : 'A';
    assert.ok(!secretMatches(`${secret.slice(0, -1)}${other}`, hash));
  });
});
