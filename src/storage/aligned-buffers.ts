/**
 * A pool of aligned buffers (kit/aligned-buffer.ts) of one size, shared by the direct writes of a
 * process (direct-file-sink.ts).
 */
import { alignedBuffer, DIRECT_ALIGNMENT } from '../kit/index.js';

/**
 * Aligned buffers of one size: a buffer written from goes back for the next upload (its pages
 * already touched), and at most `idle` wait between uploads so a burst of parallel uploads does
 * not stay resident.
 */
export class AlignedBuffers {
  private readonly free: Buffer[] = [];

  constructor(
    /** Each buffer's size, a multiple of `alignment`. */
    readonly size: number,
    readonly alignment = DIRECT_ALIGNMENT,
    private readonly idle = 4,
  ) {}

  /** A buffer of `size` bytes (contents undefined); undefined without the addon. */
  take(): Buffer | undefined {
    return this.free.pop() ?? alignedBuffer(this.size, this.alignment);
  }

  /** Hands `buffer` back once nothing reads or writes it any more. */
  give(buffer: Buffer): void {
    if (this.free.length < this.idle) this.free.push(buffer);
  }
}
