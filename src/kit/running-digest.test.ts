import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it, type TestContext } from 'node:test';
import {
  BACKLOG_BYTES,
  BATCH_BYTES,
  digesting,
  digestsOffLoop,
  loopDigest,
  resumedDigest,
  runningDigest,
  type DigestAlgorithm,
  type RunningDigest,
} from './running-digest.js';

/** Skips (failing under CI) when the pooled_hash addon is not built. */
function skipWithoutAddon(t: TestContext): boolean {
  if (digestsOffLoop()) return false;
  assert.ok(!process.env.CI, 'the pooled_hash addon is not built (npm ci runs node-gyp)');
  t.skip('the pooled_hash addon (build/Release/pooled_hash.node) is not built');
  return true;
}

/** Cuts `bytes` into chunks of uneven sizes, some empty, as a socket delivers them. */
function unevenChunks(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  const sizes = [65536, 1, 0, 7, 300_000, 16384, 1_500_000];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

const hex = (algorithm: DigestAlgorithm, bytes: Buffer) =>
  createHash(algorithm).update(bytes).digest('hex');

async function feed(digest: RunningDigest, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) await digest.update(chunk);
}

const kinds: [string, (algorithm: DigestAlgorithm) => RunningDigest, boolean][] = [
  ['on the pool', runningDigest, true],
  ["on the loop's thread", loopDigest, false],
];

for (const [kind, make, needsAddon] of kinds) {
  describe(`running digests ${kind}`, () => {
    it('match Node’s hash for bytes in uneven chunks, past several batches', async (t) => {
      if (needsAddon && skipWithoutAddon(t)) return;
      const bytes = randomBytes(3 * BATCH_BYTES + 12345);
      for (const algorithm of ['sha256', 'sha512'] as const) {
        const digest = make(algorithm);
        await feed(digest, unevenChunks(bytes));
        assert.equal(await digest.digest(), hex(algorithm, bytes), algorithm);
      }
      assert.equal(await make('sha256').digest(), hex('sha256', Buffer.alloc(0)), 'no bytes');
    });

    it('copy mid-stream: the copy digests the bytes so far, the original goes on', async (t) => {
      if (needsAddon && skipWithoutAddon(t)) return;
      const first = randomBytes(2 * BATCH_BYTES + 5);
      const rest = randomBytes(BATCH_BYTES / 2);
      for (const algorithm of ['sha256', 'sha512'] as const) {
        const digest = make(algorithm);
        await feed(digest, unevenChunks(first));
        const copy = await digest.copy();
        await feed(digest, unevenChunks(rest));
        await copy.update(Buffer.from('other'));
        assert.equal(await digest.digest(), hex(algorithm, Buffer.concat([first, rest])));
        assert.equal(
          await copy.digest(),
          hex(algorithm, Buffer.concat([first, Buffer.from('other')])),
          algorithm,
        );
      }
    });
  });
}

it('a pooled digest bounds its backlog: update asks the feeder to wait past BACKLOG_BYTES', async (t) => {
  if (skipWithoutAddon(t)) return;
  const digest = runningDigest();
  const chunk = randomBytes(1 << 16);
  let waits = 0;
  let fed = 0;
  // Fed without waiting, the backlog passes its bound at once: every update from there asks.
  while (fed < BACKLOG_BYTES + BATCH_BYTES + chunk.length) {
    if (digest.update(chunk)) waits += 1;
    fed += chunk.length;
  }
  assert.ok(waits > 0, 'updates past the backlog return a promise');
  const bytes = Buffer.concat(Array.from({ length: fed / chunk.length }, () => chunk));
  assert.equal(await digest.digest(), hex('sha256', bytes));
});

it('the addon refuses calls while hashing on the pool, and after the digest', async (t) => {
  if (skipWithoutAddon(t)) return;
  const { nativeAddon } = await import('./native-addon.js');
  const addon = nativeAddon<{
    Digest: new (
      a: string,
      state?: Buffer,
    ) => {
      update(b: Buffer): void;
      updateLater(b: Buffer[]): Promise<void>;
      digest(): string;
    };
  }>('pooled_hash')()!;
  const digest = new addon.Digest('sha256');
  const later = digest.updateLater([randomBytes(BATCH_BYTES)]);
  assert.throws(() => digest.update(Buffer.from('x')), /hashing on the pool/);
  await later;
  digest.digest();
  assert.throws(() => digest.update(Buffer.from('x')), /already finished/);
  assert.throws(() => new addon.Digest('md5'), /sha256 or sha512/);
  assert.throws(() => new addon.Digest('sha512', Buffer.alloc(48)), /only sha256 resumes/);
  assert.throws(() => new addon.Digest('sha256', Buffer.alloc(48)), /not a saved SHA-256 state/);
  const fresh = new addon.Digest('sha256');
  assert.throws(() => fresh.updateLater('not buffers' as never), /an array of Buffers/);
  assert.throws(() => fresh.updateLater(['not a buffer'] as never), /an array of Buffers/);
  fresh.update(Buffer.from('still usable'));
  assert.equal(fresh.digest(), createHash('sha256').update('still usable').digest('hex'));
});

describe('saved SHA-256 states', () => {
  it('resume where they were saved, at every offset within a block and past batches', async (t) => {
    if (skipWithoutAddon(t)) return;
    const bytes = randomBytes(2 * BATCH_BYTES + 200);
    const cuts = [0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, BATCH_BYTES + 13, 2 * BATCH_BYTES + 7];
    for (const cut of cuts) {
      const first = runningDigest();
      // Pending bytes and a batch still on the pool: the state waits for every byte taken.
      await feed(first, unevenChunks(bytes.subarray(0, cut)));
      const state = await first.state();
      assert.ok(state, `a state at ${cut}`);
      const resumed = resumedDigest(state);
      assert.ok(resumed, `resumed at ${cut}`);
      assert.equal(resumed.size, cut, `the state counts ${cut} bytes`);
      await feed(resumed.hash, unevenChunks(bytes.subarray(cut)));
      assert.equal(await resumed.hash.digest(), hex('sha256', bytes), `cut at ${cut}`);
      // The digest that saved it goes on, unaffected.
      await feed(first, [bytes.subarray(cut)]);
      assert.equal(await first.digest(), hex('sha256', bytes), `the first, cut at ${cut}`);
    }
  });

  it('are refused when malformed, and not made by Node’s hash or for SHA-512', async (t) => {
    assert.equal(await loopDigest().state(), undefined);
    if (skipWithoutAddon(t)) return;
    assert.equal(await runningDigest('sha512').state(), undefined);
    const digest = runningDigest();
    await digest.update(randomBytes(100));
    const state = (await digest.state())!;
    assert.equal(state.length, 48 + 36, 'a tag, eight words, a count, the unfinished block');
    const wrongTag = Buffer.from(state);
    wrongTag.write('sha256/2');
    const wrongCount = Buffer.from(state);
    wrongCount.writeBigUInt64BE(101n, 40);
    const hugeCount = Buffer.from(state);
    hugeCount.writeBigUInt64BE((1n << 61n) | 36n, 40);
    for (const [what, bad] of [
      ['empty', Buffer.alloc(0)],
      ['cut short', state.subarray(0, 47)],
      ['a byte missing', state.subarray(0, state.length - 1)],
      ['a byte too many', Buffer.concat([state, Buffer.from([0])])],
      ['another tag', wrongTag],
      ['a count its block does not match', wrongCount],
      ['a count past 2^61 bytes', hugeCount],
    ] as const)
      assert.equal(resumedDigest(bad), undefined, what);
  });
});

it('digesting passes a body through unchanged and digests all of it', async () => {
  const bytes = randomBytes(5 * BATCH_BYTES + 3);
  const digest = runningDigest();
  const passed = await buffer(digesting(Readable.from(unevenChunks(bytes)), digest));
  assert.ok(passed.equals(bytes));
  assert.equal(await digest.digest(), hex('sha256', bytes));
});

it('digesting passes on the body’s error', async () => {
  const body = new Readable({ read() {} });
  body.push(randomBytes(1000));
  setImmediate(() => body.destroy(new Error('the client went away')));
  await assert.rejects(buffer(digesting(body, runningDigest())), /the client went away/);
});
