// Caps V8's young generation (the new space) at runtime. Node 20 grows it under load to two
// 16 MiB semi-spaces and keeps them until the process has been idle for a while: 32 MiB of a
// process that idles near 80. The usual cure, `--max-semi-space-size`, is a command-line flag, and
// any V8 flag changes the hash the bundle's code cache (bin/load-bundle.js) must match. So the cap
// is kept after the bundle is compiled, through the one setting V8 reads each time it grows the
// space: after each collection, growth (doubling) is allowed while the space is below the cap and
// turned off at it. Measured: 8 MiB costs 0–5% of the cached-read request rate and takes
// 17 MiB off its peak resident memory.
import v8 from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';

/** The young generation's cap: two semi-spaces of 4 MiB. */
const YOUNG_GENERATION_CAP = 8 << 20;

/**
 * The allocation rate `keepYoungGenerationWarm` keeps up, in bytes of short-lived objects a second:
 * twice the rate below which V8 shrinks the young generation (1,000 bytes a millisecond).
 */
const WARM_BYTES_PER_SECOND = 2 << 20;

/** The new space's size when the process started (set by `holdYoungGeneration` or the cap). */
let firstNewSpaceBytes;

/** Holds the last array `keepYoungGenerationWarm` made, so that no compiler drops the work. */
const warmSink = [undefined];

/** The new space's committed bytes (both semi-spaces). */
function newSpaceBytes() {
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space') return space.space_size;
  }
  return 0;
}

/**
 * Keeps the new space at its first size (two 1 MiB semi-spaces) until `capYoungGeneration`: while
 * the bundle's top level runs and the server opens, nearly everything allocated lives on, and V8
 * would grow the space to the cap (the start's collections ask for it) and leave it there, idle:
 * 4–6 MiB more resident memory, each fresh page touched at a cost. Changes a V8 flag, so call it
 * after compiling with the code cache, which is checked against the flags as they are then.
 */
export function holdYoungGeneration() {
  firstNewSpaceBytes ??= newSpaceBytes();
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * Keeps the new space at most about `capBytes` from now on (releasing `holdYoungGeneration`). The
 * observer hears of collections between stretches of synchronous work (as between a server's
 * requests), so one stretch that collects several times can still grow the space past the cap
 * once or twice. Call after the bundle is compiled: the code cache is checked against the V8
 * flags as they are then, and the cap changes one.
 */
export function capYoungGeneration(capBytes = YOUNG_GENERATION_CAP) {
  firstNewSpaceBytes ??= newSpaceBytes();
  let factor = 0;
  const adjust = () => {
    const wanted = newSpaceBytes() >= capBytes ? 1 : 2;
    if (wanted === factor) return;
    v8.setFlagsFromString(`--semi-space-growth-factor=${wanted}`);
    factor = wanted;
  };
  adjust();
  new PerformanceObserver(adjust).observe({ entryTypes: ['gc'] });
}

/**
 * Keeps a young generation that grew under load from being shrunk through a quiet spell: makes
 * objects that die at once, as many as `sinceMs` of quiet needs, so that V8's measure of the
 * allocation rate stays above its threshold. At each young-generation collection V8 shrinks the
 * space to its first size when the rate over its last five seconds was below 1,000 bytes a
 * millisecond, which a few idle seconds cause; it then grows back only as objects survive, after
 * some 40 collections, and until then a burst of requests runs with 2-4 times the collections,
 * promotes short-lived objects and faults the released pages back in (measured: the first 20 small pushes after a 20 s pause took
 * 10.5-23 ms of server CPU an image, 7.5-9.5 with the space kept). Call every `sinceMs` while idle,
 * for as long as the space should be kept; does nothing (and returns false) while the space is at
 * its first size.
 */
export function keepYoungGenerationWarm(sinceMs = 1000) {
  if (firstNewSpaceBytes === undefined || newSpaceBytes() <= firstNewSpaceBytes) return false;
  const bytes = (WARM_BYTES_PER_SECOND * sinceMs) / 1000;
  // Arrays of 1,024 small integers: 8 KiB each in the young generation, no other memory.
  for (let made = 0; made < bytes; made += 8 << 10) warmSink[0] = new Array(1024).fill(made);
  return true;
}
