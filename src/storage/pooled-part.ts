/**
 * The bytes of an S3 part held in memory until the gateway has them, copied into a process-wide
 * pool of 1 MiB buffers instead of kept as the request's own chunks. A request's chunks are
 * buffers of their own outside V8's heap, and V8 counts every such byte allocated since its last
 * full collection against the old generation's limit: parts held for a few hundred ms, tens of
 * MiB at a time, started a full collection every 14 MiB or so (nine for a 128 MiB chunked upload,
 * with their incremental marking 150–250 ms of CPU, measured with `--trace-gc` and
 * `--trace-incremental-marking`). Copied (about 16 ms for 128 MiB), the chunk is finished at once
 * (chunk-release.ts: freed once the hash is done with it too), and the pool's buffers, reused from
 * part to part, add nothing new for V8 to count; they are freed after a minute without a part.
 */
import { Readable } from 'node:stream';
import { BufferPool, finishChunk } from '../kit/index.js';

/**
 * Buffers kept between parts: what one upload's parts may hold at once (64 MiB of them sent or
 * waiting, and the 16 MiB part being read).
 */
const KEPT_BUFFERS = 80;
/**
 * The pool gives its buffers back after this long without a part. A pool made anew is 80 MiB of
 * fresh pages for the kernel to hand out (226–228 ms to fill on these virtual machines, against
 * 4 ms once touched) and 80 fresh buffers for V8 to count, the collections the pool avoids:
 * measured on PG + S3, a 128 MiB upload 7 s after the last took 0.86–1.06 s of Berth's CPU and
 * five to seven full collections with the pool given back after 5 s, 0.49–0.56 s and one to four
 * with it kept, as a warm upload does. A minute keeps it between a push's layers and pushes close
 * together, and gives the memory back once uploads stop.
 */
const IDLE_MS = 60_000;

/** The process's buffers for S3 parts held in memory. */
export const partBuffers = new BufferPool(1 << 20, KEPT_BUFFERS, IDLE_MS);

/**
 * One part's bytes: the chunks as they came while they make less than one of the pool's buffers
 * (a small body takes no 1 MiB buffer for a few KiB), then copies in the pool's buffers until
 * `release`.
 */
export class PooledPart {
  /** The chunks themselves, while they are fewer bytes than a buffer of the pool. */
  private small: Buffer[] = [];
  private readonly blocks: Buffer[] = [];
  /** Bytes used in the last block. */
  private used = 0;
  /** Bytes held. */
  length = 0;

  constructor(private readonly pool: BufferPool = partBuffers) {}

  /**
   * Takes `chunk` (the caller must not use it after): kept as it is while the part is small,
   * else copied and finished (chunk-release.ts), with the small ones before it.
   */
  add(chunk: Buffer): void {
    this.length += chunk.length;
    if (this.blocks.length === 0 && this.length < this.pool.size) {
      this.small.push(chunk);
      return;
    }
    for (const kept of this.small.splice(0)) this.copy(kept);
    this.copy(chunk);
  }

  private copy(chunk: Buffer): void {
    const size = chunk.length;
    for (let at = 0; at < size;) {
      if (this.blocks.length === 0 || this.used === this.pool.size) {
        this.blocks.push(this.pool.take());
        this.used = 0;
      }
      const copied = chunk.copy(this.blocks[this.blocks.length - 1]!, this.used, at);
      this.used += copied;
      at += copied;
    }
    finishChunk(chunk);
  }

  /** The bytes as a stream (of the small chunks, or views of the buffers); valid until `release`. */
  body(): Readable {
    if (this.blocks.length === 0) return Readable.from([...this.small]);
    const last = this.blocks.length - 1;
    return Readable.from(this.blocks.map((b, i) => (i === last ? b.subarray(0, this.used) : b)));
  }

  /** Gives the buffers back to the pool and finishes the small chunks; idempotent. */
  release(): void {
    for (const block of this.blocks.splice(0)) this.pool.give(block);
    this.small.splice(0).forEach(finishChunk);
    this.used = 0;
    this.length = 0;
  }
}
