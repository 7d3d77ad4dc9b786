/**
 * A claim on an upload's write gives itself up before it can lapse: once another write holds it,
 * or once it has gone unrenewed for half its length (the database unreachable), its `lost` signal
 * fires and the write's body is ended, so the write never goes on after another may have taken the
 * upload over. The database here is a stand-in whose answers each test chooses; the clock is
 * injected, the renewal timer real.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { it } from 'node:test';
import type { Meta, UploadRecord } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { AppendClaims, stopOnLoss } from './append-claims.js';

/** A database stand-in whose `renewAppend` answers as `renew` says, counting the calls. */
function database(renew: () => Promise<boolean>) {
  const calls = { renew: 0 };
  const upload = { id: 'u1', size: 7 } as UploadRecord;
  const meta = {
    uploads: {
      claimAndGet: async () => upload,
      get: async () => upload,
      renewAppend: () => {
        calls.renew += 1;
        return renew();
      },
      advance: async () => true,
      releaseAppend: async () => undefined,
    },
  } as unknown as Meta;
  return { meta, calls };
}

/** A hang guard for tests that wait for the renewal timer's ticks (100 ms apart). */
const WAITS = { timeout: 60_000 };

/** Waits until `condition` holds (polling; the test's own timeout bounds it). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

it('a claim unrenewed for half its length is lost, not before', WAITS, async () => {
  let now = 1_000;
  const { meta, calls } = database(() => Promise.reject(new Error('database unreachable')));
  const claims = new AppendClaims(meta, true, 300, () => now);
  const { claim } = (await claims.claim('u1'))!;
  // Renewals fail while the clock stands still: the claim is not given up.
  await until(() => calls.renew >= 2);
  assert.equal(claim.lost.aborted, false);
  now += 150;
  // (The renewal timer does not keep the process alive: the wait polls.)
  await until(() => claim.lost.aborted);
  const reason = claim.lost.reason as BerthError;
  assert.equal(reason.code, 'RANGE_INVALID');
  assert.match(reason.message, /could not be renewed/);
  assert.equal(claims.renewing(), 0, 'and is no longer renewed');
});

it('a claim another write holds is lost at the next renewal', WAITS, async () => {
  const { meta } = database(async () => false);
  const claims = new AppendClaims(meta, true, 300, () => 1_000);
  const { claim } = (await claims.claim('u1'))!;
  await until(() => claim.lost.aborted);
  assert.match((claim.lost.reason as Error).message, /held by another write/);
});

it('a renewal answered after the write recorded its progress loses nothing', WAITS, async () => {
  let answer: ((held: boolean) => void) | undefined;
  const { meta } = database(() => new Promise((resolve) => (answer = resolve)));
  const claims = new AppendClaims(meta, true, 300, () => 1_000);
  const { claim } = (await claims.claim('u1'))!;
  await until(() => answer !== undefined);
  await claim.advance(7, null, null);
  answer!(false);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(claim.lost.aborted, false);
});

it('a lost claim ends the body being read, and leaves alone one that ended or was let go', async () => {
  const lostWhileReading = new AbortController();
  const reading = new PassThrough();
  stopOnLoss(reading, { lost: lostWhileReading.signal });
  const failure = once(reading, 'error');
  lostWhileReading.abort(new BerthError('RANGE_INVALID', 'lost'));
  assert.equal(((await failure)[0] as BerthError).code, 'RANGE_INVALID');

  const lostAfter = new AbortController();
  const released = new PassThrough();
  const unbind = stopOnLoss(released, { lost: lostAfter.signal });
  unbind();
  lostAfter.abort(new Error('lost'));
  assert.equal(released.errored, null, 'no error once let go');

  const lostAtEnd = new AbortController();
  const ended = new PassThrough();
  stopOnLoss(ended, { lost: lostAtEnd.signal });
  ended.end('all of it');
  ended.resume();
  await once(ended, 'end');
  lostAtEnd.abort(new Error('lost'));
  assert.equal(ended.errored, null, 'no error for a body read to its end');
});
