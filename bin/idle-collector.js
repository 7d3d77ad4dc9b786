// Gives back what a burst of work grew, once Berth falls idle. Under load V8 lets its old
// generation grow at least 16 MiB past what was live at its last full collection and keeps the
// buffers of dead objects (a received upload chunk's 64 KiB) until it next collects them; freed,
// such buffers leave holes in glibc's heap that it returns only from the heap's top.
//
// Two tiers. After an idle second that followed growth: a young-generation collection (the
// requests' short-lived objects and the buffers they held), a trim of glibc's heaps and the
// release of the executable's pages the burst read — a few milliseconds, and the code V8
// optimised for the burst stays. Only once the event loop has stayed idle for a minute: a full
// collection. A full collection right after a burst also frees the burst's object shapes (maps)
// that optimised code still names, and V8 throws that code away ("weak objects" in
// `--trace-deopt`: 170-190 functions after 200 small pushes — Kysely's query builders, Node's
// HTTP parser and streams, Fastify's reply) and compiles it again as the next burst warms up:
// measured, the next 400 small pushes took 20-90% more CPU. After a minute's quiet that cost is
// small next to the quiet; a second after a burst it fell on the next one.
//
// For that minute the young generation is also kept at the size the burst grew it to
// (`keepYoungGenerationWarm`): V8 shrinks it after a few quiet seconds, and the next burst then
// runs with a small one until objects surviving have grown it back.
import v8 from 'node:v8';
import vm from 'node:vm';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { trimMalloc } from './malloc-tuning.js';
import { releaseExecutablePages } from './executable-pages.js';
import { keepYoungGenerationWarm } from './young-generation.js';

/** How often the event loop's use is sampled, in ms. */
const SAMPLE_MS = 1000;
/** The share of a sample the event loop may have been busy and still count as idle. */
const IDLE_UTILIZATION = 0.02;
/**
 * How far resident memory must have grown since the last collection (or its lowest since) to
 * collect: whatever grew it, V8's heap, the buffers its objects hold or glibc's heap.
 */
const GROWTH_BYTES = 4 << 20;
/** How long the event loop must have stayed idle before a full collection, in ms. */
const FULL_AFTER_MS = 60_000;

/**
 * Starts watching, every `sampleMs`. After the first sample in which the event loop was idle,
 * releases the pages of Node's executable that starting read (30-40 MiB; not sooner, so the first
 * requests do not read them again). At the first idle sample of a stretch, if resident memory
 * has grown by `growthBytes` since the last collection (or its lowest since), collects the young
 * generation, trims glibc's heaps and releases the executable's pages again (a few ms, paid when
 * nothing waits). Once in each stretch of `fullAfterMs` idle in a row, if V8's heap holds
 * `growthBytes` more than after the last full collection (or its lowest since), collects fully
 * instead (about 20 ms for Berth's live heap). After a busy sample, if resident memory has grown
 * as much since the last trim, only trims (about 1 ms; a collection would stall the requests):
 * the holes freed buffers left go back during a long transfer, not only after it. Sets V8's
 * `--expose-gc` (at its first collection), so call it after the bundle is compiled: the code
 * cache is checked against the flags as they are then. The timer does not keep the process
 * alive. Returns counts of the young-generation and full collections and of the busy trims that
 * returned memory, and a way to stop. Unless `keepYoungGeneration` is false, each idle sample
 * within `fullAfterMs` of the last busy one keeps the young generation at its size
 * (`keepYoungGenerationWarm`); `warmSamples` counts those that did.
 */
export function collectWhenIdle({
  sampleMs = SAMPLE_MS,
  growthBytes = GROWTH_BYTES,
  fullAfterMs = FULL_AFTER_MS,
  keepYoungGeneration = true,
} = {}) {
  // V8's collector function, fetched at the first collection: a context made for it costs 3 ms,
  // which at start-up would come before the first request is read.
  let collector;
  const collect = (full) => {
    if (!collector) {
      v8.setFlagsFromString('--expose-gc');
      collector = vm.runInNewContext('gc');
    }
    // Node 20's V8 collects fully when called with no argument and only the young generation
    // when called with an options object (it reads no `type: 'major'`).
    if (full) collector();
    else collector({ type: 'minor' });
    trimMalloc();
    releaseExecutablePages();
  };
  const heapUsed = () => v8.getHeapStatistics().used_heap_size;
  let lightAt = process.memoryUsage.rss();
  let trimmedAt = lightAt;
  let fullAt = heapUsed();
  let idleSince;
  // What comes back while idle (the executable's pages, a young generation V8 shrank) is not a
  // burst's: each tier collects at most once an idle stretch.
  let lightThisStretch = false;
  let fullThisStretch = false;
  const counts = { light: 0, full: 0, trims: 0, warm: 0 };
  // When a sample last found the event loop busy; the young generation is kept until a minute
  // after it (not after start-up, whose young generation is at its first size anyway).
  let busyAt;
  const keepWarm = () => {
    if (!keepYoungGeneration || busyAt === undefined) return;
    if (performance.now() - busyAt >= fullAfterMs) return;
    if (keepYoungGenerationWarm(sampleMs)) counts.warm += 1;
  };
  let startReleased = false;
  // The sample after a collection reads back what it released (the executable's pages, the young
  // generation's memory): neither busy nor idle.
  let settling = false;
  let before = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    if (settling) {
      settling = false;
      keepWarm();
    } else watch();
    // What this sample did (a collection: milliseconds) is not the process's work.
    before = performance.eventLoopUtilization();
  }, sampleMs);
  function watch() {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, before).utilization > IDLE_UTILIZATION;
    const resident = process.memoryUsage.rss();
    lightAt = Math.min(lightAt, resident);
    trimmedAt = Math.min(trimmedAt, resident);
    if (busy) {
      busyAt = performance.now();
      idleSince = undefined;
      lightThisStretch = false;
      fullThisStretch = false;
      if (resident < trimmedAt + growthBytes) return;
      if (trimMalloc()) counts.trims += 1;
      trimmedAt = process.memoryUsage.rss();
      return;
    }
    idleSince ??= performance.now() - sampleMs;
    keepWarm();
    if (!startReleased) {
      releaseExecutablePages();
      startReleased = true;
    }
    const longIdle = performance.now() - idleSince >= fullAfterMs;
    const heap = heapUsed();
    fullAt = Math.min(fullAt, heap);
    if (longIdle && !fullThisStretch && heap >= fullAt + growthBytes) {
      collect(true);
      counts.full += 1;
      fullThisStretch = true;
      fullAt = heapUsed();
    } else if (!lightThisStretch && resident >= lightAt + growthBytes) {
      collect(false);
      counts.light += 1;
      lightThisStretch = true;
    } else return;
    lightAt = process.memoryUsage.rss();
    trimmedAt = lightAt;
    settling = true;
  }
  timer.unref();
  return {
    lightCollections: () => counts.light,
    fullCollections: () => counts.full,
    trims: () => counts.trims,
    warmSamples: () => counts.warm,
    stop: () => clearInterval(timer),
  };
}
