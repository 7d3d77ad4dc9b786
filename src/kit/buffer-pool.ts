/**
 * A pool of equal buffers, shared by a process's requests: a buffer is taken for one read or write
 * and given back once nothing uses it; up to `keep` free buffers are kept for the next taker
 * (their pages already touched), past that a returned buffer is dropped. Buffers start on a 4 KiB
 * boundary where the direct I/O addon allows (aligned-buffer.ts), so files opened with `O_DIRECT`
 * can be read into and written from them.
 */
import { alignedBuffer } from './aligned-buffer.js';

/** A pool of equal buffers. */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private made = 0;

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of `size` bytes (contents undefined): a kept one, or a new one. */
  take(): Buffer {
    const kept = this.free.pop();
    if (kept) return kept;
    this.made += 1;
    return alignedBuffer(this.size) ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Gives `buffer` back; it must not be used after. Kept for reuse while fewer than `keep` are. */
  give(buffer: Buffer): void {
    if (buffer.byteLength === this.size && this.free.length < this.keep) this.free.push(buffer);
  }

  /** Buffers kept for reuse now, and buffers made so far. */
  counts(): { kept: number; made: number } {
    return { kept: this.free.length, made: this.made };
  }
}

/**
 * The process's 1 MiB aligned buffers for I/O around the page cache: the staging buffers of
 * direct upload writes (storage/direct-file-sink.ts) and the buffers cold blob bytes are read
 * into for a download (http/file-sender.ts); four kept between uses. One large direct request
 * costs a virtual machine's disk far less than four of 256 KiB.
 */
export const directIoBuffers = new BufferPool(1 << 20, 4);
