import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childJson, launcherModule, skippedWithoutAddon } from '../helpers/child-node.js';

// A child Node that grows its heap in a burst of work (40 MiB of objects, dropped at its end, as a
// round of requests leaves them), then falls idle with bin/idle-collector.js watching every 50 ms
// (or not; a full collection after 300 ms idle, not the minute Berth waits), and reports the heap V8
// holds after the burst and once idle, and the collections made. It waits for the full collection
// (or 3 s without one), never for a fixed time alone.
const BURST = `
import v8 from 'node:v8';
const heap = () => v8.getHeapStatistics().total_heap_size;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function run() {
  const { collectWhenIdle } = await import(process.argv[2]);
  const watching = process.argv[1] === 'watch';
  const watch = watching
    ? collectWhenIdle({ sampleMs: 50, growthBytes: 8 << 20, fullAfterMs: 300 })
    : undefined;
  let burst = [];
  for (let i = 0; i < 400000; i++) burst.push({ i, text: 'request ' + i, more: [i, i + 1] });
  const afterBurst = heap();
  burst = undefined;
  const waitUntil = Date.now() + 3000;
  while (Date.now() < waitUntil && (watch?.fullCollections() ?? 0) === 0) await sleep(20);
  const idle = heap();
  // A second idle stretch with no growth: no second collection.
  await sleep(400);
  process.stdout.write(
    JSON.stringify({
      afterBurst,
      idle,
      full: watch?.fullCollections() ?? 0,
      light: watch?.lightCollections() ?? 0,
    }),
  );
  watch?.stop();
}
run();
`;

function burstThenIdle(mode: 'watch' | 'free'): {
  afterBurst: number;
  idle: number;
  full: number;
  light: number;
} {
  return childJson(BURST, [mode, launcherModule('idle-collector')]);
}

// A child Node (V8's natives syntax on) that serves a burst of "requests" whose objects have a
// shape of their own (a class made for the burst, as a burst's transient object shapes are), with
// a handler V8 optimised for that shape, then falls idle under the collector: a young-generation
// collection at once, the full one after `fullAfterMs`. It reports the collector's collections,
// the major collections V8 ran, and whether the handler was still optimised after each.
const OPTIMISED_CODE = `
import { PerformanceObserver, constants } from 'node:perf_hooks';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { collectWhenIdle } = await import(process.argv[1]);
const fullAfterMs = Number(process.argv[2]);
// The major collections that began after \`since\` (V8 reports them a little later).
const majorStarts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorStarts.push(entry.startTime);
}).observe({ entryTypes: ['gc'] });
const majorsSince = (since) => majorStarts.filter((start) => start >= since).length;
function handle(request) {
  return request.path.length + request.size;
}
function burst() {
  // What the burst holds to its end (in the old generation by then): memory the collector sees
  // grow, which only a full collection gives back. Made first, so V8's own collections while it
  // grows come before the handler is optimised.
  const held = [];
  for (let i = 0; i < 300000; i++) held.push({ i, text: 'layer ' + i });
  class Request {
    constructor(i) {
      this.path = '/v2/x/blobs/' + i;
      this.size = i;
    }
  }
  let sum = 0;
  %PrepareFunctionForOptimization(handle);
  for (let i = 0; i < 200; i++) sum += handle(new Request(i));
  %OptimizeFunctionOnNextCall(handle);
  for (let i = 0; i < 200000; i++) sum += handle(new Request(i));
  return { sum, held };
}
const optimised = () => (%GetOptimizationStatus(handle) & 16) !== 0;
// Let V8 settle its start-up collections before watching.
await sleep(200);
globalThis.gc();
const watch = collectWhenIdle({ sampleMs: 50, growthBytes: 4 << 20, fullAfterMs });
let left = burst();
const afterBurst = optimised();
const burstEnded = performance.now();
left = undefined;
const giveUp = Date.now() + 5000;
while (watch.lightCollections() === 0 && Date.now() < giveUp) await sleep(20);
await sleep(0);
const afterLight = { light: watch.lightCollections(), full: watch.fullCollections(), majors: majorsSince(burstEnded), optimised: optimised() };
while (watch.fullCollections() === 0 && Date.now() < giveUp + fullAfterMs) await sleep(20);
await sleep(0);
const afterFull = { full: watch.fullCollections(), optimised: optimised() };
watch.stop();
process.stdout.write(JSON.stringify({ afterBurst, afterLight, afterFull }));
`;

describe('the idle collector', () => {
  it('gives back the heap a burst grew once the event loop has stayed idle, once', () => {
    const watched = burstThenIdle('watch');
    assert.equal(watched.full, 1);
    assert.ok(watched.light >= 1, 'a young-generation collection came first');
    assert.ok(
      watched.idle < watched.afterBurst - (16 << 20),
      `the heap went from ${watched.afterBurst} to ${watched.idle} bytes`,
    );
  });

  it('is what gives it back: V8 alone keeps it through the same idle time', () => {
    const free = burstThenIdle('free');
    assert.ok(
      free.idle > free.afterBurst - (8 << 20),
      `without the collector the heap went from ${free.afterBurst} to ${free.idle} bytes`,
    );
  });

  it('keeps the code V8 optimised for a burst through a short idle stretch, not through a long one', () => {
    const result = childJson<{
      afterBurst: boolean;
      afterLight: { light: number; full: number; majors: number; optimised: boolean };
      afterFull: { full: number; optimised: boolean };
    }>(OPTIMISED_CODE, [launcherModule('idle-collector'), '1500'], ['--allow-natives-syntax']);
    assert.ok(result.afterBurst, 'the handler was optimised during the burst');
    assert.deepEqual(result.afterLight, { light: 1, full: 0, majors: 0, optimised: true });
    // The full collection frees the burst's object shape, and V8 drops the code that named it:
    // what the next burst would pay for again had it come right after.
    assert.deepEqual(result.afterFull, { full: 1, optimised: false });
  });

  it('while busy, does not collect but trims the holes freed buffers left in the heap', (t) => {
    if (process.platform !== 'linux') return t.skip('glibc trimming is for Linux');
    const result = childJson<{
      untuned?: boolean;
      freed: boolean;
      trims: number;
      collections: number;
      returned: number;
    }>(BUSY_HOLES, [launcherModule('idle-collector'), launcherModule('malloc-tuning')]);
    if (skippedWithoutAddon(t, result)) return;
    assert.ok(result.freed, 'V8 freed the 64 KiB buffers within 10 s');
    assert.equal(result.collections, 0, 'no collection while the event loop is busy');
    assert.ok(result.trims >= 1, 'trimmed while busy');
    assert.ok(
      result.returned >= 40 << 20,
      `only ${result.returned} of 64 MiB of freed 64 KiB buffers went back while busy`,
    );
  });
});

// A child Node, tuned as berth serve is, that frees 64 MiB of 64 KiB buffers (from glibc's heap,
// as a socket's received chunks are) kept between small ones, then stays busy (40 ms of work in
// each 50 ms sample) until the collector has trimmed, or 3 s have passed. Its resident memory is
// read before it first yields, so a trim on a slow machine's first sample is still counted.
const BUSY_HOLES = `
import { readFileSync } from 'node:fs';
const [collectorUrl, tuningUrl] = process.argv.slice(1);
const { collectWhenIdle } = await import(collectorUrl);
const { tuneMalloc } = await import(tuningUrl);
if (!tuneMalloc()) {
  process.stdout.write(JSON.stringify({ untuned: true }));
  process.exit(0);
}
const anon = () => Number(/RssAnon:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const watch = collectWhenIdle({ sampleMs: 50, growthBytes: 8 << 20 });
let chunks = [];
const small = [];
for (let i = 0; i < 1024; i += 1) {
  chunks.push(Buffer.allocUnsafeSlow(64 << 10).fill(1));
  small.push(Buffer.allocUnsafeSlow(4 << 10).fill(1));
}
chunks = undefined;
globalThis.gc();
// V8 frees the buffers' memory on a helper thread after gc() returns: wait for it without
// yielding, so the collector's timer cannot have trimmed before the memory is read, however slow
// the machine.
const freeing = Date.now() + 10000;
while (process.memoryUsage().arrayBuffers > 8 << 20 && Date.now() < freeing);
const freed = process.memoryUsage().arrayBuffers <= 8 << 20;
const full = anon();
const giveUp = Date.now() + 3000;
while (watch.trims() === 0 && Date.now() < giveUp) {
  const until = Date.now() + 40;
  while (Date.now() < until);
  await new Promise((r) => setTimeout(r, 10));
}
const collections = watch.lightCollections() + watch.fullCollections();
const result = { freed, trims: watch.trims(), collections, returned: full - anon(), kept: small.length };
watch.stop();
process.stdout.write(JSON.stringify(result));
`;
