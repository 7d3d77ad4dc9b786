// Gives back what a burst of work grew, once Berth falls idle. Under load V8 lets its old
// generation grow at least 16 MiB past what was live at its last full collection and keeps the
// buffers of dead objects (a received upload chunk's 64 KiB) until it next collects them; freed,
// such buffers leave holes in glibc's heap that it returns only from the heap's top. Left alone,
// the memory reducer acts seconds after the process has gone quiet, and a burst that comes
// before then grows memory again from there. This collects fully, then trims glibc's heaps and
// releases the pages of Node's executable the burst read (bin/executable-pages.js), once the
// event loop has been idle for a second after resident memory grew: in the benchmark's steps,
// resident memory after each falls back to 88-98 MiB instead of staying at 103-115. The pages
// of the executable that starting read go at the first idle second.
import v8 from 'node:v8';
import vm from 'node:vm';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { trimMalloc } from './malloc-tuning.js';
import { releaseExecutablePages } from './executable-pages.js';

/** How often the event loop's use is sampled, in ms. */
const SAMPLE_MS = 1000;
/** The share of a sample the event loop may have been busy and still count as idle. */
const IDLE_UTILIZATION = 0.02;
/**
 * How far resident memory must have grown since the last collection (or its lowest since) to
 * collect: whatever grew it, V8's heap, the buffers its objects hold or glibc's heap.
 */
const GROWTH_BYTES = 4 << 20;

/**
 * Starts watching, every `sampleMs`. After the first sample in which the event loop was idle,
 * releases the pages of Node's executable that starting read (30-40 MiB; not sooner, so the first
 * requests do not read them again). After a sample in which the event loop was idle, if resident
 * memory has grown by `growthBytes` since the last collection (or its lowest since), collects
 * fully, trims glibc's heaps and releases the executable's pages again (about 20 ms for Berth's
 * live heap, paid when nothing waits). After a busy sample, if it has grown as much since the last
 * trim, only trims (about 1 ms; a collection would stall the requests): the holes freed buffers
 * left go back during a long transfer, not only after it. Sets V8's `--expose-gc` (at its first
 * collection), so call it after the bundle is compiled: the code cache is checked against the
 * flags as they are then. The timer does not keep the process alive. Returns counts of the collections and the busy trims that
 * returned memory, and a way to stop.
 */
export function collectWhenIdle({ sampleMs = SAMPLE_MS, growthBytes = GROWTH_BYTES } = {}) {
  // V8's collector function, fetched at the first collection: a context made for it costs 3 ms,
  // which at start-up would come before the first request is read.
  let collector;
  const collect = () => {
    if (!collector) {
      v8.setFlagsFromString('--expose-gc');
      collector = vm.runInNewContext('gc');
    }
    collector();
  };
  let collectedAt = process.memoryUsage.rss();
  let trimmedAt = collectedAt;
  let collections = 0;
  let trims = 0;
  let startReleased = false;
  let before = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, before).utilization > IDLE_UTILIZATION;
    before = now;
    const resident = process.memoryUsage.rss();
    collectedAt = Math.min(collectedAt, resident);
    trimmedAt = Math.min(trimmedAt, resident);
    if (busy) {
      if (resident < trimmedAt + growthBytes) return;
      if (trimMalloc()) trims += 1;
      trimmedAt = process.memoryUsage.rss();
      return;
    }
    if (!startReleased) {
      releaseExecutablePages();
      startReleased = true;
    }
    if (resident < collectedAt + growthBytes) return;
    collect();
    trimMalloc();
    releaseExecutablePages();
    collections += 1;
    collectedAt = process.memoryUsage.rss();
    trimmedAt = collectedAt;
  }, sampleMs);
  timer.unref();
  return { collections: () => collections, trims: () => trims, stop: () => clearInterval(timer) };
}
