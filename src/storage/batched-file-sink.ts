/**
 * A Writable onto an open file that gathers chunks into batches of about 1 MiB and writes each
 * batch with one `writev` at a known position, one batch in flight while the next gathers. Fewer,
 * larger writes than fs.WriteStream's per-chunk writes.
 *
 * Write-behind: each time the written bytes cross a 32 MiB mark of the file, an fdatasync starts
 * in the background (one at a time, never awaited by the writes), so the disk flushes while the
 * body is still arriving — across chunked uploads' requests too — instead of all at once when the
 * upload is committed; Linux would otherwise start writeback only at its dirty-memory
 * thresholds. The bytes are durable only once the caller syncs the file; `settled` tells when the
 * background syncs are done and fails with the first error one met (a later sync through another
 * descriptor may not report it again), and the file handle must stay open until then.
 */
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { finishChunk } from '../kit/index.js';
import { writeBehind } from './write-behind.js';

const BATCH_BYTES = 1 << 20;
const WRITE_BEHIND_BYTES = 32 << 20;

/** A sink into a file, and when its background syncs are done. */
export interface FileSink {
  stream: Writable;
  /** Resolves once no background sync is running; rejects with the first one's error. */
  settled(): Promise<void>;
}

/** A sink writing from `position` on into `handle`. */
export function batchedFileSink(handle: FileHandle, position: number): FileSink {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = position;
  const behind = writeBehind(handle, WRITE_BEHIND_BYTES);
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const batch = pending;
    const bytes = pendingBytes;
    pending = [];
    pendingBytes = 0;
    let written = 0;
    while (written < bytes) {
      const result = await handle.writev(
        written === 0 ? batch : [Buffer.concat(batch).subarray(written)],
        offset + written,
      );
      written += result.bytesWritten;
    }
    const from = offset;
    offset += bytes;
    behind.written(from, offset);
    batch.forEach(finishChunk);
  };
  const stream = new Writable({
    // At most a batch waits while one is written: an upload holds at most about 2 MiB of
    // received chunks, not 5 (skopeo sends five layers at once). Uploads went no slower than
    // with 4 MiB waiting: the page cache takes a 1 MiB writev in well under a millisecond.
    highWaterMark: BATCH_BYTES,
    writev(chunks, callback) {
      for (const { chunk } of chunks) {
        pending.push(chunk as Buffer);
        pendingBytes += (chunk as Buffer).byteLength;
      }
      if (pendingBytes < BATCH_BYTES) return callback();
      flush().then(() => callback(), callback);
    },
    final(callback) {
      flush().then(() => callback(), callback);
    },
  });
  return { stream, settled: () => behind.settled() };
}
