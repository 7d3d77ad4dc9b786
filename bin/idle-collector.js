// Gives back what a burst of work grew, once Berth falls idle. Under load V8 lets its old
// generation grow at least 16 MiB past what was live at its last full collection and keeps the
// buffers of dead objects (a received upload chunk's 64 KiB) until it next collects them; freed,
// such buffers leave holes in glibc's heap that it returns only from the heap's top. Left alone,
// the memory reducer acts seconds after the process has gone quiet, and a burst that comes
// before then grows memory again from there. This collects fully, then trims glibc's heaps,
// once the event loop has been idle for a second after the heap (with its buffers) grew: in the
// benchmark's steps, resident memory after each falls back to 88-98 MiB instead of staying at
// 103-115.
import v8 from 'node:v8';
import vm from 'node:vm';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { trimMalloc } from './malloc-tuning.js';

/** How often the event loop's use is sampled, in ms. */
const SAMPLE_MS = 1000;
/** The share of a sample the event loop may have been busy and still count as idle. */
const IDLE_UTILIZATION = 0.02;
/**
 * How far the heap's used bytes (live objects and garbage not yet collected) must have grown since
 * the last collection, or their lowest since, to collect.
 */
const GROWTH_BYTES = 4 << 20;

/**
 * The bytes V8's heap has in use (live objects and garbage not yet collected) and the memory its
 * objects hold outside it (buffers: a received upload chunk's 64 KiB stays until V8 collects
 * the object that owns it).
 */
function heapBytes() {
  const heap = v8.getHeapStatistics();
  return heap.used_heap_size + heap.external_memory;
}

/**
 * Starts watching: after a sample in which the event loop was idle, if the heap has grown by
 * `growthBytes` since the last collection, collects fully and trims glibc's heaps (about 20 ms
 * for Berth's live heap, paid when nothing waits). Sets V8's `--expose-gc`, so call it after the
 * bundle is compiled: the code cache is checked against the flags as they are then. The timer
 * does not keep the process alive. Returns how many collections it made and a way to stop.
 */
export function collectWhenIdle({ sampleMs = SAMPLE_MS, growthBytes = GROWTH_BYTES } = {}) {
  v8.setFlagsFromString('--expose-gc');
  const collect = vm.runInNewContext('gc');
  let baseline = heapBytes();
  let collections = 0;
  let before = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, before).utilization > IDLE_UTILIZATION;
    before = now;
    if (busy) return;
    const heap = heapBytes();
    if (heap < baseline + growthBytes) {
      baseline = Math.min(baseline, heap);
      return;
    }
    collect();
    trimMalloc();
    collections += 1;
    baseline = heapBytes();
  }, sampleMs);
  timer.unref();
  return { collections: () => collections, stop: () => clearInterval(timer) };
}
