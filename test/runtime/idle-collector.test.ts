import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

// A child Node that grows its heap in a burst of work (40 MiB of objects, dropped at its end, as a
// round of requests leaves them), then falls idle with bin/idle-collector.js watching every 50 ms
// (or not), and reports the heap V8 holds after the burst and once idle, and the collections made.
// It waits for the collection (or 2 s without one), never for a fixed time alone.
const BURST = `
const v8 = require('node:v8');
const heap = () => v8.getHeapStatistics().total_heap_size;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function run() {
  const { collectWhenIdle } = await import(process.argv[2]);
  const watching = process.argv[1] === 'watch';
  const watch = watching ? collectWhenIdle({ sampleMs: 50, growthBytes: 8 << 20 }) : undefined;
  let burst = [];
  for (let i = 0; i < 400000; i++) burst.push({ i, text: 'request ' + i, more: [i, i + 1] });
  const afterBurst = heap();
  burst = undefined;
  const waitUntil = Date.now() + 2000;
  while (Date.now() < waitUntil && (watch?.collections() ?? 0) === 0) await sleep(20);
  const idle = heap();
  // A second idle stretch with no growth: no second collection.
  await sleep(300);
  process.stdout.write(JSON.stringify({ afterBurst, idle, collections: watch?.collections() ?? 0 }));
  watch?.stop();
}
run();
`;

function burstThenIdle(mode: 'watch' | 'free'): {
  afterBurst: number;
  idle: number;
  collections: number;
} {
  const moduleUrl = new URL('../../bin/idle-collector.js', import.meta.url).href;
  const child = spawnSync(process.execPath, ['-e', BURST, mode, moduleUrl], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { afterBurst: number; idle: number; collections: number };
}

describe('the idle collector', () => {
  it('gives back the heap a burst grew once the event loop is idle, once', () => {
    const watched = burstThenIdle('watch');
    assert.equal(watched.collections, 1);
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

  it('while busy, does not collect but trims the holes freed buffers left in the heap', (t) => {
    if (process.platform !== 'linux') return t.skip('glibc trimming is for Linux');
    const moduleUrl = new URL('../../bin/idle-collector.js', import.meta.url).href;
    const tuning = new URL('../../bin/malloc-tuning.js', import.meta.url).href;
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--input-type=module', '-e', BUSY_HOLES, moduleUrl, tuning],
      { encoding: 'utf8' },
    );
    assert.equal(child.status, 0, child.stderr);
    const result = JSON.parse(child.stdout) as {
      untuned?: boolean;
      trims: number;
      collections: number;
      returned: number;
    };
    if (result.untuned) {
      assert.ok(!process.env.CI, 'the malloc tuning addon is not built (npm ci runs node-gyp)');
      return t.skip('the malloc tuning addon (build/Release/malloc_tuning.node) is not built');
    }
    assert.equal(result.collections, 0, 'no full collection while the event loop is busy');
    assert.ok(result.trims >= 1, 'trimmed while busy');
    assert.ok(
      result.returned >= 40 << 20,
      `only ${result.returned} of 64 MiB of freed 64 KiB buffers went back while busy`,
    );
  });
});

// A child Node, tuned as berth serve is, that frees 64 MiB of 64 KiB buffers (from glibc's heap,
// as a socket's received chunks are) kept between small ones, then stays busy (40 ms of work in
// each 50 ms sample) until the collector has trimmed, or 3 s have passed.
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
while (process.memoryUsage().arrayBuffers > 8 << 20) await new Promise((r) => setImmediate(r));
const full = anon();
const giveUp = Date.now() + 3000;
while (watch.trims() === 0 && Date.now() < giveUp) {
  const until = Date.now() + 40;
  while (Date.now() < until);
  await new Promise((r) => setTimeout(r, 10));
}
const result = { trims: watch.trims(), collections: watch.collections(), returned: full - anon(), kept: small.length };
watch.stop();
process.stdout.write(JSON.stringify(result));
`;
