/**
 * Frees a request body's chunks as soon as Berth is done with them. Node copies each chunk of a
 * body it reads into a buffer of its own (up to 64 KiB, outside V8's heap), which V8 frees only
 * when a collection finds the chunk dead; an upload's chunk is done with once it is hashed (on
 * the pool, a little later) and copied into a file's staging buffer or written. Freed then (its
 * ArrayBuffer detached), the same memory takes the next chunk, and an upload's dead chunks no
 * longer pile up between collections (received-chunks.ts).
 *
 * Who may free what: only chunks of a body nobody else reads (`readAlone`: a request's body,
 * marked at the HTTP edge; never a stream teed to a client). The reader that takes a chunk from
 * such a body `claimChunk`s it; a consumer that finishes with it later than the chunk moves on
 * (the pooled hash) `holdChunk`s it and `releaseChunk`s it when done; the last consumer (a file
 * sink) calls `finishChunk` when it has copied or written it. The chunk is freed once finished
 * with no hold left. Calls for a chunk never claimed do nothing, so a consumer may call them on
 * any chunk; a chunk that shares its ArrayBuffer with other bytes is never claimed.
 */
import type { Readable } from 'node:stream';
import { forgetReceived } from './received-chunks.js';
import { freeNow } from './free-now.js';
import { processShared } from './process-shared.js';

/** Bodies whose chunks nobody but their one reader holds. */
const soleReaders = processShared('sole-readers', () => new WeakSet<Readable>());

/** A claimed chunk's consumers: holds not released yet, and whether the last one finished. */
interface ChunkState {
  holds: number;
  finished: boolean;
}

const claimed = processShared('claimed-chunks', () => new WeakMap<ArrayBuffer, ChunkState>());

/** Bytes of chunks freed so far, process-wide. */
const freed = processShared('freed-chunks', () => ({ bytes: 0 }));

/** Bytes of chunks this process has freed so far (what the tests check). */
export function freedChunkBytes(): number {
  return freed.bytes;
}

/** Marks `body` as read by its consumer alone, so its chunks may be freed; returns it. */
export function readAlone<T extends Readable>(body: T): T {
  soleReaders.add(body);
  return body;
}

/** Whether `body` was marked by `readAlone`. */
export function isReadAlone(body: Readable): boolean {
  return soleReaders.has(body);
}

/**
 * Marks `chunk`, just read from a body marked `readAlone`, to be freed once its consumers are
 * done. A chunk that is a view of part of a larger buffer is left alone.
 */
export function claimChunk(chunk: Buffer): void {
  const buffer = chunk.buffer;
  if (!(buffer instanceof ArrayBuffer)) return;
  if (chunk.byteOffset !== 0 || chunk.byteLength !== buffer.byteLength) return;
  if (chunk.byteLength === 0) return;
  claimed.set(buffer, { holds: 0, finished: false });
}

/** Notes that a consumer keeps `chunk` past the next one's turn (until `releaseChunk`). */
export function holdChunk(chunk: Buffer): void {
  const state = claimed.get(chunk.buffer as ArrayBuffer);
  if (state) state.holds += 1;
}

/** Ends a `holdChunk`; frees the chunk if the last consumer has finished. */
export function releaseChunk(chunk: Buffer): void {
  const state = claimed.get(chunk.buffer as ArrayBuffer);
  if (!state) return;
  state.holds -= 1;
  if (state.finished && state.holds <= 0) free(chunk);
}

/** Notes that the last consumer is done with `chunk`; frees it unless another still holds it. */
export function finishChunk(chunk: Buffer): void {
  const state = claimed.get(chunk.buffer as ArrayBuffer);
  if (!state) return;
  state.finished = true;
  if (state.holds <= 0) free(chunk);
}

function free(chunk: Buffer): void {
  const buffer = chunk.buffer as ArrayBuffer;
  const bytes = buffer.byteLength;
  claimed.delete(buffer);
  freeNow(buffer);
  freed.bytes += bytes;
  forgetReceived(bytes);
}
