import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';

const run = promisify(execFile);

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

// A child Node that grows its young generation as a server's burst does (capped at 8 MiB), falls
// quiet for longer than the five seconds over which V8 measures the allocation rate, then starts
// the next burst; bin/idle-collector.js watches, keeping the young generation (`keep`) or not (its
// other tiers run as in Berth: the light one collects the young generation at the first idle
// sample). It reports the new space grown and after the next burst's first collections, the
// young-generation collections during the quiet, and what the collector did. The quiet is V8's
// own window, not a wait for the machine: a slower machine only makes it quieter.
const QUIET_SPELL = `
import v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const young = await import(process.argv[2]);
const { collectWhenIdle } = await import(process.argv[3]);
young.capYoungGeneration(8 << 20);
const atFirstSize = young.keepYoungGenerationWarm();
// The light tier collects at the first idle sample of each stretch, as after a burst that grew
// the heap (here it need not have: a loaded machine can make the burst's own samples look idle).
const watch = collectWhenIdle({
  sampleMs: 100,
  growthBytes: 1,
  keepYoungGeneration: process.argv[1] === 'keep',
});
let quiet = false;
let quietMinor = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    if (quiet && entry.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) quietMinor += 1;
}).observe({ entryTypes: ['gc'] });
const ring = new Array(200000);
for (let stretch = 0, next = 0; stretch < 3000; stretch++) {
  for (let i = 0; i < 2000; i++, next = (next + 1) % ring.length) ring[next] = { stretch, i };
  await new Promise((r) => setImmediate(r));
}
const grown = newSpace();
quiet = true;
await sleep(7000);
quiet = false;
// The next burst: short-lived objects only, enough for a few young-generation collections.
let sink;
for (let i = 0; i < 4000; i++) sink = new Array(1024).fill(i);
const after = newSpace();
watch.stop();
process.stdout.write(
  JSON.stringify({ atFirstSize, grown, after, quietMinor, warm: watch.warmSamples(), sink: sink.length }),
);
`;

interface QuietSpell {
  atFirstSize: boolean;
  grown: number;
  after: number;
  quietMinor: number;
  warm: number;
}

async function quietSpell(mode: 'keep' | 'free'): Promise<QuietSpell> {
  const { stdout } = await run(process.execPath, [
    '--input-type=module',
    '-e',
    QUIET_SPELL,
    mode,
    new URL('../../bin/young-generation.js', import.meta.url).href,
    new URL('../../bin/idle-collector.js', import.meta.url).href,
  ]);
  return JSON.parse(stdout) as QuietSpell;
}

describe('the young generation through a quiet spell', () => {
  it('is kept at its size by the idle collector allocating through the quiet', async (t) => {
    // Both children at once: each spends most of its time quiet.
    const [free, kept] = await Promise.all([quietSpell('free'), quietSpell('keep')]);
    assert.equal(kept.atFirstSize, false, 'nothing is made while the space is at its first size');
    for (const child of [free, kept])
      assert.ok(child.grown >= 4 << 20, `the burst grew the new space to ${child.grown} only`);
    // Kept: the collector allocated through the quiet (2 MiB a second: young-generation
    // collections V8 counts in its allocation rate) and the space kept its size.
    assert.ok(kept.warm >= 10, `the collector kept it warm in ${kept.warm} samples`);
    assert.ok(
      kept.quietMinor >= free.quietMinor + 2,
      `${kept.quietMinor} collections in the quiet kept, ${free.quietMinor} not kept`,
    );
    assert.ok(kept.after >= kept.grown, `kept, it went from ${kept.grown} to ${kept.after}`);
    // Not kept: nothing allocated in the quiet but the light tier's collection. Whether V8 then
    // shrinks the space depends on its measure of the rate (it usually does: the case the keeping
    // is for), so it is reported, not asserted.
    assert.equal(free.warm, 0);
    t.diagnostic(
      `not kept, the new space went from ${free.grown} to ${free.after} bytes ` +
        `(${free.quietMinor} collections in the quiet; kept: ${kept.quietMinor})`,
    );
  });
});
