// Sets glibc's allocator for a long-running process, through a small native addon
// (native/malloc-tuning.c, built by `npm ci` with node-gyp): Node 20 cannot set these itself,
// and the MALLOC_* environment variables that can must be set before the process starts.
import { nativeAddon } from './native-addon.js';

/** At most two malloc arenas: one per core, where glibc allows eight per core (11 threads here). */
const ARENA_MAX = 2;
/**
 * Blocks of 128 KiB or more are mapped on their own and unmapped when freed. glibc's default
 * starts here but raises the threshold at each such free (up to 32 MiB), after which large
 * buffers come from the heap and, freed between live allocations, stay resident.
 */
const MMAP_THRESHOLD = 128 << 10;
/**
 * Free memory at the heap's top beyond 4 MiB is returned at once (the idle collector trims the
 * rest, bin/idle-collector.js). An upload frees each received chunk as soon as it is stored
 * (src/kit/chunk-release.ts); at glibc's 128 KiB each such free at the top gave back pages the
 * next chunk faulted in again: 4 times the page faults and 20-40% more CPU per upload.
 */
const TRIM_THRESHOLD = 4 << 20;

/**
 * The addon, or undefined when it was not built (another C library, no compiler at install).
 * Looked up once: the idle collector asks for it every time it trims.
 */
const mallocTuning = nativeAddon('malloc_tuning');

/**
 * Fixes glibc's mmap and trim thresholds and caps its arenas, so memory Berth frees after a burst
 * goes back to the system. Returns whether the settings took (false without the addon or glibc).
 */
export function tuneMalloc() {
  return mallocTuning()?.configure(ARENA_MAX, MMAP_THRESHOLD, TRIM_THRESHOLD) ?? false;
}

/**
 * Returns the free memory inside glibc's heaps to the system (`malloc_trim`), not only at their
 * tops: the holes freed buffers leave between live allocations. Returns whether any was (false
 * without the addon or glibc, or with an addon built before it had `trim`).
 */
export function trimMalloc() {
  return mallocTuning()?.trim?.() ?? false;
}
