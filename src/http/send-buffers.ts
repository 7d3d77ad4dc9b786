/**
 * The buffers blob files are sent through, shared by all requests: each 256 KiB, taken for one read
 * and given back once the socket has taken its bytes. Up to `keep` free buffers are kept for the
 * next request; past that a returned buffer is dropped. Per-request buffers (four 1 MiB each, made
 * for every download and dropped after it) left tens of MiB of dead buffers waiting for a full
 * collection after a burst of pulls; reused ones make no garbage at all.
 */
import { alignedBuffer } from '../kit/index.js';

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
    // Aligned where it can be, so a blob's bytes can be read into it around the page cache.
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
 * The process's pool for sending blob files: 256 KiB buffers, sixteen kept at most (4 MiB; with
 * 1 MiB buffers eight parallel pulls kept 16 MiB for good, at the same download rates).
 */
export const sendBuffers = new BufferPool(1 << 18, 16);
