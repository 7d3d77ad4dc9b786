import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from './errors.js';

describe('BerthError', () => {
  it("takes no stack for a client's mistake, keeps one for a server error", () => {
    const unknown = new BerthError('BLOB_UNKNOWN');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.stack, 'BerthError: blob unknown to registry');
    const internal = new BerthError('INTERNAL');
    assert.equal(internal.status, 500);
    assert.match(internal.stack ?? '', /\n\s+at .*errors\.test\.ts/);
  });

  it('leaves the process its stack trace limit', () => {
    const limit = Error.stackTraceLimit;
    void new BerthError('NAME_UNKNOWN');
    assert.equal(Error.stackTraceLimit, limit);
    assert.match(new Error('plain').stack ?? '', /\n\s+at /);
  });
});
