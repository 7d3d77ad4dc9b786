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
});
