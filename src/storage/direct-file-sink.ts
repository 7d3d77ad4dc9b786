/**
 * A Writable onto a file that writes around the page cache (`O_DIRECT`): received chunks are
 * copied into aligned 1 MiB buffers and each full buffer is written with one direct write at its
 * aligned position, one in flight while the next fills. Only the last partial block of a request
 * (under the alignment) is written through the page cache, and the next request reads it back and
 * writes it again directly with what follows.
 *
 * Why: on the virtual machines Berth is measured on, a write into the page cache first has to
 * touch memory the host has taken back (free page reporting), which made durable buffered writes
 * 300–570 MiB/s where the same bytes written directly and synced went about 2,300. The bytes are
 * durable only once the caller syncs the file (fdatasync: the partial block, the file's size and
 * the device's cache), exactly as with buffered writes. Those syncs run behind the writes too
 * (`write-behind.ts`, every 8 MiB): after 256 MiB written directly, the one sync at commit took
 * 130–156 ms here (the device flushing what the writes left in its cache), 2–5 ms with syncs
 * every 8 MiB along the way. When the kernel refuses a direct write (EINVAL: a filesystem that
 * takes `O_DIRECT` at open but not this alignment), that write and all later ones go through the
 * page cache and `unsupported` is called once.
 */
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { DIRECT_ALIGNMENT, finishChunk, type BufferPool } from '../kit/index.js';
import type { FileSink } from './batched-file-sink.js';
import { writeBehind } from './write-behind.js';

/** Bytes written directly between background syncs. */
const WRITE_BEHIND_BYTES = 8 << 20;

/** The two handles on one file a direct sink writes through. */
export interface DirectFileHandles {
  /** Opened with `O_DIRECT`. */
  direct: FileHandle;
  /** Opened without it: the partial blocks go through it. */
  buffered: FileHandle;
}

/**
 * A sink writing from `position` on into the file of `files`, staging in `buffers` (aligned, of
 * a whole number of blocks); `unsupported` is called if the kernel refuses a direct write.
 */
export function directFileSink(
  files: DirectFileHandles,
  position: number,
  buffers: BufferPool,
  unsupported: () => void = () => undefined,
): FileSink {
  const alignment = DIRECT_ALIGNMENT;
  const head = position % alignment;
  /** The file offset of `staging[0]`, always aligned. */
  let base = position - head;
  let staging: Buffer | undefined;
  let filled = 0;
  let direct = true;
  let started = false;
  let writing: Promise<void> | undefined;
  let failure: unknown;
  const behind = writeBehind(files.direct, WRITE_BEHIND_BYTES);

  /**
   * Writes `length` bytes of `buffer` at `at`: the whole blocks directly while the kernel takes
   * them, a partial last block through the cache.
   */
  const writeOut = async (buffer: Buffer, length: number, at: number): Promise<void> => {
    let done = 0;
    while (done < length) {
      const blocks = length - done - ((length - done) % alignment);
      const viaDirect = direct && done % alignment === 0 && blocks > 0;
      const count = viaDirect ? blocks : length - done;
      try {
        const { bytesWritten } = await (viaDirect ? files.direct : files.buffered).write(
          buffer,
          done,
          count,
          at + done,
        );
        done += bytesWritten;
      } catch (err) {
        if (!viaDirect || (err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        direct = false;
        unsupported();
      }
    }
  };

  /** Starts writing the full staging buffer; the next waits for it (one write in flight). */
  const startWrite = (): void => {
    const full = staging as Buffer;
    const at = base;
    writing = writeOut(full, full.length, at).then(
      () => {
        buffers.give(full);
        behind.written(at, at + full.length);
      },
      (err: unknown) => void (failure ??= err),
    );
    base += full.length;
    staging = undefined;
    filled = 0;
  };

  const settleWrite = async (): Promise<void> => {
    if (writing) await writing;
    writing = undefined;
    if (failure) throw failure;
  };

  /** The first chunk's start: an unaligned position begins with the file's partial block. */
  const begin = async (): Promise<Buffer> => {
    started = true;
    const buffer = buffers.take();
    if (head > 0) {
      const { bytesRead } = await files.buffered.read(buffer, 0, head, base);
      if (bytesRead !== head) {
        buffers.give(buffer);
        throw new Error(`the upload's file ends before ${position}`);
      }
    }
    filled = head;
    return buffer;
  };

  /** Copies `chunk` into staging buffers, writing each that fills; then the chunk may be freed. */
  const accept = async (chunk: Buffer): Promise<void> => {
    let from = 0;
    try {
      while (from < chunk.byteLength) {
        if (stream.destroyed) throw new Error('the upload was cut short');
        staging ??= started ? buffers.take() : await begin();
        const copied = chunk.copy(staging, filled, from);
        filled += copied;
        from += copied;
        if (filled === staging.length) {
          await settleWrite();
          startWrite();
        }
      }
    } finally {
      finishChunk(chunk);
    }
  };

  const finish = async (): Promise<void> => {
    await settleWrite();
    const buffer = staging;
    if (!buffer) return;
    staging = undefined;
    try {
      await writeOut(buffer, filled, base);
    } finally {
      buffers.give(buffer);
    }
  };

  /** The chunk or the end being written now: a destroy waits for it before freeing buffers. */
  let busy: Promise<void> = Promise.resolve();
  const stream = new Writable({
    highWaterMark: buffers.size,
    write(chunk: Buffer, _encoding, callback) {
      busy = accept(chunk);
      busy.then(() => callback(), callback);
    },
    final(callback) {
      busy = finish();
      busy.then(() => callback(), callback);
    },
    destroy(err, callback) {
      // The staging buffer goes back only once nothing copies into it or writes from it (a
      // write in flight gives its own back when it ends), so no buffer is in the pool twice.
      const release = async (): Promise<void> => {
        await busy.catch(() => undefined);
        await writing;
        if (staging) buffers.give(staging);
        staging = undefined;
      };
      release().then(
        () => callback(err),
        () => callback(err),
      );
    },
  });
  // Settled once the last write and the background syncs have ended (both waited for, whatever
  // either met: the handles are closed next); the first error either met is thrown.
  const settled = async (): Promise<void> => {
    const errors: unknown[] = [];
    await settleWrite().catch((err: unknown) => void errors.push(err));
    await behind.settled().catch((err: unknown) => void errors.push(err));
    if (errors.length > 0) throw errors[0];
  };
  return { stream, settled };
}
