/**
 * A Writable onto an open file that gathers chunks into batches of about 1 MiB and writes each
 * batch with one `writev` at a known position, one batch in flight while the next gathers. Fewer,
 * larger writes than fs.WriteStream's per-chunk writes; `final` fsyncs, so the bytes are durable
 * once the stream finishes. The file handle stays the caller's to close.
 */
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

const BATCH_BYTES = 1 << 20;

/** A sink writing from `position` on into `handle`. */
export function batchedFileSink(handle: FileHandle, position: number): Writable {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = position;
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
    offset += bytes;
  };
  return new Writable({
    highWaterMark: 4 * BATCH_BYTES,
    writev(chunks, callback) {
      for (const { chunk } of chunks) {
        pending.push(chunk as Buffer);
        pendingBytes += (chunk as Buffer).byteLength;
      }
      if (pendingBytes < BATCH_BYTES) return callback();
      flush().then(() => callback(), callback);
    },
    final(callback) {
      flush()
        .then(() => handle.sync())
        .then(() => callback(), callback);
    },
  });
}
