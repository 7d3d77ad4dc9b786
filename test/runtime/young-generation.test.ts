import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

// A child Node that works the way a server does — many short stretches of work, each making
// objects of which many stay alive a while (so V8 wants to grow its new space) — and reports the
// largest new space it saw, with and without bin/young-generation.js's cap.
const CHURN = `
const v8 = require('node:v8');
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
async function run() {
  if (process.argv[1] === 'cap') (await import(process.argv[2])).capYoungGeneration(4 << 20);
  let largest = 0;
  const ring = new Array(200000);
  let next = 0;
  for (let stretch = 0; stretch < 3000; stretch++) {
    for (let i = 0; i < 2000; i++, next = (next + 1) % ring.length) ring[next] = { stretch, i, text: 'x' + i };
    largest = Math.max(largest, newSpace());
    await new Promise((r) => setImmediate(r)); // between stretches, as between requests
  }
  process.stdout.write(String(largest));
}
run();
`;

function largestNewSpace(mode: 'cap' | 'free'): number {
  const moduleUrl = new URL('../../bin/young-generation.js', import.meta.url).href;
  const child = spawnSync(process.execPath, ['-e', CHURN, mode, moduleUrl], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return Number(child.stdout);
}

describe('the young generation cap', () => {
  it('keeps the new space at its cap where V8 alone grows it to 32 MiB', () => {
    const free = largestNewSpace('free');
    const capped = largestNewSpace('cap');
    assert.ok(free >= 16 << 20, `without the cap the new space reached ${free} bytes`);
    // One doubling past the cap at worst (collections the observer has not heard of yet).
    assert.ok(capped <= 8 << 20, `with a 4 MiB cap the new space reached ${capped} bytes`);
  });
});
