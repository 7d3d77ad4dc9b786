/**
 * Bounds the memory that request-body chunks hold once they are dead. Node copies each chunk of a
 * body it reads into a buffer of its own (up to 64 KiB, outside V8's heap); hashed and written,
 * the chunk is garbage, but V8 frees its buffer only at its next young-generation collection, and
 * an upload — little JavaScript allocation, many large buffers — seldom causes one: during a
 * 256 MiB upload 20–30 MiB of dead chunks piled up (measured: `arrayBuffers` 28.7 MiB, peak RSS
 * 113 MiB). A young-generation collection after every `RECLAIM_EVERY` bytes received keeps them
 * to about that much (peak RSS 95 MiB), at about 1 ms a collection (0.15 ms a MiB received).
 * Chunks freed on the spot (chunk-release.ts: an upload to the filesystem store) are taken back
 * from the count, so only those left to V8 bring a collection.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { processShared } from './process-shared.js';

/** Bytes received between two collections of the young generation. */
export const RECLAIM_EVERY = 8 << 20;

type Collector = (options: { type: 'minor' }) => void;

let collector: Collector | null | undefined;
/** Bytes noted since the last collection, one count for every copy of this module. */
const received = processShared('received-since-collection', () => ({ sinceLast: 0 }));

/** V8's collector function (`--expose-gc`, set now if it was not), or null when unavailable. */
function youngCollector(): Collector | null {
  if (collector === undefined) {
    const exposed = (globalThis as { gc?: Collector }).gc;
    try {
      if (exposed) collector = exposed;
      else {
        // The flag installs `gc` in contexts made after it is set.
        v8.setFlagsFromString('--expose-gc');
        collector = vm.runInNewContext('gc') as Collector;
      }
    } catch {
      collector = null;
    }
  }
  return collector;
}

/**
 * Notes `bytes` of a request body received (and done with); every `every` bytes, process-wide,
 * collects the young generation so the dead chunks' buffers are freed.
 */
export function noteReceived(bytes: number, every = RECLAIM_EVERY): void {
  received.sinceLast += bytes;
  if (received.sinceLast < every) return;
  received.sinceLast = 0;
  youngCollector()?.({ type: 'minor' });
}

/**
 * Takes back `bytes` noted by `noteReceived` whose buffers were freed without a collection
 * (chunk-release.ts): only chunks left for V8 to find dead bring the next collection nearer.
 */
export function forgetReceived(bytes: number): void {
  received.sinceLast = Math.max(0, received.sinceLast - bytes);
}

/** The stores' `observe` callback for a request body's chunks: notes each one received. */
export function noteReceivedChunk(chunk: Uint8Array): void {
  noteReceived(chunk.byteLength);
}
