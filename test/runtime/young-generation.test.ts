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
  const young = await import(process.argv[2]);
  if (process.argv[1] === 'cap') young.capYoungGeneration(4 << 20);
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

// A child Node that starts the way Berth does — a stretch of work whose objects nearly all live on
// (a bundle's top level, a server opening) — with or without the young generation held, then
// (held) capped and run like a server; it reports the new space after the start and at the end.
const START = `
const v8 = require('node:v8');
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
async function run() {
  const young = await import(process.argv[2]);
  if (process.argv[1] === 'hold') young.holdYoungGeneration();
  const kept = [];
  for (let i = 0; i < 400000; i++) kept.push({ i, text: 'module ' + i });
  const afterStart = newSpace();
  if (process.argv[1] === 'hold') young.capYoungGeneration(8 << 20);
  const ring = new Array(200000);
  for (let stretch = 0, next = 0; stretch < 3000; stretch++) {
    for (let i = 0; i < 2000; i++, next = (next + 1) % ring.length) ring[next] = { stretch, i };
    await new Promise((r) => setImmediate(r));
  }
  process.stdout.write(JSON.stringify({ afterStart, atEnd: newSpace(), kept: kept.length }));
}
run();
`;

function startAndServe(mode: 'hold' | 'free'): { afterStart: number; atEnd: number } {
  const moduleUrl = new URL('../../bin/young-generation.js', import.meta.url).href;
  const child = spawnSync(process.execPath, ['-e', START, mode, moduleUrl], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { afterStart: number; atEnd: number };
}

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

  it('stays at its first size through a start, and grows under load once capped', () => {
    const free = startAndServe('free');
    const held = startAndServe('hold');
    assert.ok(free.afterStart >= 8 << 20, `a free start grew the new space to ${free.afterStart}`);
    assert.ok(held.afterStart <= 2 << 20, `a held start grew the new space to ${held.afterStart}`);
    assert.ok(held.atEnd > held.afterStart, `capped, the new space stayed at ${held.atEnd}`);
  });
});
